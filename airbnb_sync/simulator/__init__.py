"""A local stand-in for Airbnb's host-insights API, for the demo, tests and benchmarks.

    with Simulator(SimulatorConfig(api_key="sim-api-key")) as sim:
        ...  # AIRBNB_BASE_URL=sim.url, Cookie: make_cookie("41234567")

Any session whose `_user_attributes` cookie names a user id is a host with 1-8 synthetic
listings (or the listings an accounts file gives it); the figures it serves are pure
functions in `airbnb_sync.simulator.data`, so tests can compute exactly what to expect.
Offsets count from anchor = today - 3 (+ anchor_shift_days); days more than 180 days
before or after today are left out of ChartQuery answers, and a ListOfMetricsQuery window
entirely outside that horizon shows "-" for every metric.
"""

from airbnb_sync.simulator.cli import main
from airbnb_sync.simulator.config import SimulatorConfig, load_accounts_file
from airbnb_sync.simulator.cookies import make_cookie
from airbnb_sync.simulator.data import SimListing
from airbnb_sync.simulator.server import Simulator

__all__ = ["SimListing", "Simulator", "SimulatorConfig", "load_accounts_file", "main",
           "make_cookie"]
