"""The name profiles written before the launcher moved give their `run_launcher:` block; the
launcher lives in `airbnb_sync.instance.launcher`."""

from airbnb_sync.instance.launcher import LocalRunLauncher

__all__ = ["LocalRunLauncher"]
