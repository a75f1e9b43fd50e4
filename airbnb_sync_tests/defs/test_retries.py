"""Configuration errors fail a step once; what may pass is retried. Run through a real
Dagster instance (execute_in_process on an ephemeral instance), counting the attempts."""

import dagster as dg
import pytest

from airbnb_sync.core.settings import SettingsError
from airbnb_sync.defs.retries import StepRetries

pytestmark = pytest.mark.slow

RETRIES = StepRetries(max_retries=2, delay=0.0)


class Transient(RuntimeError):
    retryable = True


def attempts_of(error: Exception) -> tuple[int, bool]:
    """(attempts, run succeeded) of a one-op job whose op raises `error` within
    `retry_what_may_pass`, as the assets and the IO manager do."""

    @dg.op
    def step(context: dg.OpExecutionContext) -> None:
        context.log.info("attempt")
        with RETRIES.retry_what_may_pass(context.retry_number):
            raise error

    @dg.job
    def one_step() -> None:
        step()

    result = one_step.execute_in_process(raise_on_error=False)
    starts = [e for e in result.all_events
              if e.event_type_value in ("STEP_START", "STEP_RESTARTED")]
    return len(starts), result.success


@pytest.mark.parametrize("error", [
    SettingsError("AIRBNB_API_KEY is not set"),
    SettingsError("AIRBNB_SYNC_HASH_CHART='x' is invalid"),
], ids=["missing-key", "bad-hash"])
def test_a_setting_error_fails_the_step_once(error: Exception) -> None:
    assert attempts_of(error) == (1, False)


@pytest.mark.parametrize("error", [Transient("Airbnb unavailable"),
                                   ConnectionError("dropped database connection")],
                         ids=["retryable", "unforeseen"])
def test_what_may_pass_is_retried(error: Exception) -> None:
    assert attempts_of(error) == (1 + RETRIES.max_retries, False)


def test_a_failure_without_retries_fails_once() -> None:
    assert attempts_of(dg.Failure("frame invalid", allow_retries=False)) == (1, False)
