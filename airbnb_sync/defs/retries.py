"""Step retries that the error decides, and interrupts that stop the run.

Dagster turns an interrupt (SIGTERM, Ctrl-C) of a step that has a `RetryPolicy` into a retry
of that step, and the in-process executor then goes on with the other steps: `kill` of
`dagster asset materialize` would not stop the sync. So the steps carry no RetryPolicy; they
ask for a retry themselves with `dg.RetryRequested`, with the policy's backoff and jitter,
when the failure may pass: a `dg.Failure(allow_retries=True)` or an unforeseen error such as
a dropped database connection. An error that says `retryable = False` (a `SettingsError`: a
missing API key, an invalid hash override) fails the step once. An interrupt stays an
interrupt and ends the run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class StepRetries:
    max_retries: int
    delay: float

    def request(self, previous_attempts: int) -> dg.RetryRequested:
        backoff = dg.RetryPolicy(max_retries=self.max_retries, delay=self.delay,
                                 backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
        return dg.RetryRequested(max_retries=self.max_retries,
                                 seconds_to_wait=backoff.calculate_delay(previous_attempts + 1))

    @contextmanager
    def retry_what_may_pass(self, previous_attempts: int) -> Iterator[None]:
        """Within the block, a failure that may pass becomes a retry request (its cause kept,
        so the UI and the alerts show it); one that cannot pass fails the step at once."""
        try:
            yield
        except dg.Failure as failure:
            if not failure.allow_retries:
                raise
            raise self.request(previous_attempts) from failure
        except Exception as error:
            if not may_pass(error):
                raise
            raise self.request(previous_attempts) from error


def may_pass(error: BaseException) -> bool:
    """Our errors say whether they may pass (`retryable`: a bad setting never does); one
    without the attribute is unforeseen, such as a dropped connection, and may."""
    return bool(getattr(error, "retryable", True))
