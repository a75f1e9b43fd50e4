"""Pacing of one account's requests, on a fake clock so the arithmetic is exact."""

from __future__ import annotations

import pytest

from airbnb_sync.airbnb.pacing import MemoryPacingStore, Pacer
from airbnb_sync.airbnb.stats import RequestStats

ACCOUNT = "41234567"


class FakeClock:
    """A wall clock and a monotonic clock that only move when someone sleeps (or we say so)."""

    def __init__(self) -> None:
        self.wall = 1_750_000_000.0
        self.mono = 500.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def pacer_on(clock: FakeClock, interval: float = 6.0, **kwargs: object) -> Pacer:
    return Pacer(interval, wall_clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep,
                 **kwargs)  # type: ignore[arg-type]


def test_first_request_goes_at_once_and_the_next_waits_the_jittered_interval() -> None:
    clock = FakeClock()
    stats = RequestStats()
    pacer = pacer_on(clock, stats=stats)
    assert pacer.wait_turn(ACCOUNT) == 0
    waited = pacer.wait_turn(ACCOUNT)
    assert 6.0 <= waited <= 9.0
    assert sum(clock.sleeps) == pytest.approx(waited)
    assert stats.seconds_waiting == pytest.approx(waited)


def test_time_already_spent_since_the_last_request_counts() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock)
    pacer.wait_turn(ACCOUNT)
    clock.advance(5.0)
    assert 1.0 <= pacer.wait_turn(ACCOUNT) <= 4.0
    clock.advance(10.0)
    assert pacer.wait_turn(ACCOUNT) == 0


def test_jitter_adds_between_zero_and_half_the_interval() -> None:
    pacer = Pacer(2.0)
    gaps = [pacer.next_interval() for _ in range(2000)]
    assert all(2.0 <= gap <= 3.0 for gap in gaps)
    assert min(gaps) < 2.1 and max(gaps) > 2.9


def test_accounts_are_paced_independently() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock)
    pacer.wait_turn(ACCOUNT)
    assert pacer.wait_turn("58765432") == 0


def test_a_shared_store_paces_two_processes_of_one_account() -> None:
    clock = FakeClock()
    store = MemoryPacingStore()
    first, second = pacer_on(clock, store=store), pacer_on(clock, store=store)
    first.wait_turn(ACCOUNT)
    assert 6.0 <= second.wait_turn(ACCOUNT) <= 9.0


def test_a_hold_back_seen_by_one_process_holds_back_the_other() -> None:
    clock = FakeClock()
    store = MemoryPacingStore()
    first, second = pacer_on(clock, 0.0, store=store), pacer_on(clock, 0.0, store=store)
    first.hold_back(ACCOUNT, 120.0)
    assert store.get(ACCOUNT) == pytest.approx(clock.wall + 120.0)
    assert second.wait_turn(ACCOUNT) == pytest.approx(120.0)


def test_a_hold_back_never_moves_the_next_turn_earlier() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 0.0)
    pacer.hold_back(ACCOUNT, 60.0)
    pacer.hold_back(ACCOUNT, 1.0)
    assert pacer.seconds_until_turn(ACCOUNT) == pytest.approx(60.0)


def test_a_wall_clock_jumping_forward_does_not_shorten_the_interval() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock)
    pacer.wait_turn(ACCOUNT)
    clock.wall += 3600.0  # NTP step: the monotonic clock did not move
    assert 6.0 <= pacer.wait_turn(ACCOUNT) <= 9.0


def test_a_far_future_stored_time_is_capped_as_clock_skew() -> None:
    clock = FakeClock()
    store = MemoryPacingStore()
    store.set(ACCOUNT, clock.wall + 86_400)
    pacer = pacer_on(clock, 0.0, store=store, max_wait=300.0)
    assert pacer.wait_turn(ACCOUNT) == pytest.approx(300.0)


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Pacer(-1.0)
