"""The code location users and scripts name: `dagster ... -m airbnb_sync.definitions`.

Everything Dagster lives in `airbnb_sync.defs`; this module only keeps the old name working.
"""

from airbnb_sync.defs.definitions import defs

__all__ = ["defs"]
