"""A run decodes its partition keys once: the IO manager's input, each asset's body and its
output of every step ask for the same keys, and only the first asks Dagster's parser."""

from __future__ import annotations

import pytest
from pipeline_helpers import HOSTS, run_range, weeks_ending_now

from airbnb_sync.defs.assets import _decoded
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]


def test_a_run_decodes_its_partition_keys_once(pipeline_env: Simulator) -> None:
    first, last = weeks_ending_now(3)
    _decoded.cache_clear()

    result = run_range(HOSTS[1], first, last)

    assert result.success
    lookups = _decoded.cache_info()
    # listings: its body and its output; each metric step: its input, body and output. The
    # two kinds of context list the keys in different orders: still one decode.
    assert lookups.misses + lookups.hits == 2 + 3 + 3
    assert lookups.misses == 1
