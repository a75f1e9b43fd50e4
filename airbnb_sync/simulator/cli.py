"""`airbnb-sync simulator ...`: run the simulator in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import date
from types import FrameType

from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.simulator.config import DEFAULT_API_KEY, SimulatorConfig, load_accounts_file
from airbnb_sync.simulator.server import Simulator

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _hash_pair(text: str) -> tuple[str, str]:
    operation, sep, value = text.partition("=")
    names = [op.value for op in Operation]
    if not sep or operation not in names or not value:
        raise argparse.ArgumentTypeError(f"expected OPERATION=HASH with OPERATION in {names}")
    return operation, value


def _fault_script(text: str) -> tuple[str | None, ...]:
    return tuple(item.strip() or None for item in text.split(","))


def _account_count(text: str) -> tuple[str, int]:
    account, sep, count = text.partition("=")
    if not sep or not account.isdigit() or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected ACCOUNT_ID=N, got {text!r}")
    return account, int(count)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airbnb-sync simulator",
        description="A local stand-in for Airbnb's host-insights API. Every knob can also be "
                    "changed at run time: POST /_sim/config {\"knob\": value}; statistics at "
                    "GET /_sim/stats.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--accounts", metavar="FILE",
                        help='fixed hosts: JSON {"accounts": [{"account_id", "listings"}]}')
    parser.add_argument("--api-key", default=DEFAULT_API_KEY,
                        help="the X-Airbnb-API-Key to accept (default: %(default)s)")
    parser.add_argument("--no-api-key", action="store_true", help="accept any or no API key")
    parser.add_argument("--hash", action="append", type=_hash_pair, default=[],
                        metavar="OPERATION=HASH", help="expected persisted-query hash (repeatable)")
    parser.add_argument("--today", type=date.fromisoformat, help="pin today (YYYY-MM-DD)")
    parser.add_argument("--anchor-lag-days", type=int, default=3)
    parser.add_argument("--anchor-shift-days", type=int, default=0,
                        help="move the anchor of relative offsets by this many days")
    parser.add_argument("--horizon-days", type=int, default=180)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0,
                        help="requests per second per account (0: unlimited)")
    parser.add_argument("--rate-burst", type=int, default=None)
    parser.add_argument("--fault-rate", type=_rate, default=0.0,
                        help="share of transient faults (5xx, malformed or truncated body)")
    parser.add_argument("--error-rate", type=_rate, default=0.0)
    parser.add_argument("--malformed-rate", type=_rate, default=0.0)
    parser.add_argument("--truncate-rate", type=_rate, default=0.0)
    parser.add_argument("--drift-rate", type=_rate, default=0.0)
    parser.add_argument("--throttle-rate", type=_rate, default=0.0)
    parser.add_argument("--throttle-retry-after", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-script", type=_fault_script, default=(), metavar="F,F,...",
                        help="faults of each account's first requests in order, e.g. "
                             "',error,error,,malformed' (empty: a normal answer)")
    parser.add_argument("--expire-after", type=int, default=None,
                        help="sessions expire after N requests of their account")
    parser.add_argument("--expire-after-for", action="append", type=_account_count,
                        default=[], metavar="ACCOUNT_ID=N",
                        help="this account's session expires after N requests (repeatable)")
    parser.add_argument("--auth-error-status", type=int, choices=(200, 401), default=401)
    parser.add_argument("--failing-listing", action="append", default=[], metavar="ID",
                        help="answer 503 to every metric request of this listing (repeatable)")
    parser.add_argument("--rotate-every", type=int, default=None, metavar="K",
                        help="set a new _aat cookie every K requests of an account")
    parser.add_argument("--rotate-grace", type=int, default=0, metavar="G",
                        help="accept the previous _aat for G more requests after a rotation")
    parser.add_argument("--cookie-max-age", type=int, default=None, metavar="SECONDS",
                        help="give rotated cookies Max-Age and Expires attributes")
    parser.add_argument("--listings", type=_count, default=None, metavar="N",
                        help="every host not in --accounts has N synthetic listings "
                             "(default: 1 to 8, fixed by the account id)")
    parser.add_argument("--listings-for", action="append", type=_account_count, default=[],
                        metavar="ACCOUNT=N", help="this host has N synthetic listings")
    parser.add_argument("--set-cookie", action="append", default=[], metavar="HEADER",
                        help="send this Set-Cookie header value with every authenticated "
                             "answer (repeatable): odd or hostile cookies for keep-alive")
    parser.add_argument("--print-curl", metavar="ACCOUNT_ID",
                        help="print a sample browser 'Copy as cURL' of this host and exit")
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        host=args.host, port=args.port,
        api_key=None if args.no_api_key else args.api_key,
        hashes=dict(args.hash),
        accounts=load_accounts_file(args.accounts) if args.accounts else {},
        today=args.today, anchor_lag_days=args.anchor_lag_days,
        anchor_shift_days=args.anchor_shift_days, horizon_days=args.horizon_days,
        latency_ms=args.latency_ms, rate_limit=args.rate_limit, rate_burst=args.rate_burst,
        fault_rate=args.fault_rate, error_rate=args.error_rate,
        malformed_rate=args.malformed_rate, truncate_rate=args.truncate_rate,
        drift_rate=args.drift_rate, throttle_rate=args.throttle_rate,
        throttle_retry_after=args.throttle_retry_after, seed=args.seed,
        fault_script=args.fault_script, expire_after=args.expire_after,
        expire_after_for=dict(args.expire_after_for), auth_error_status=args.auth_error_status,
        failing_listings=frozenset(args.failing_listing),
        rotate_every=args.rotate_every, rotate_grace=args.rotate_grace,
        cookie_max_age=args.cookie_max_age, listings=args.listings,
        listings_for=dict(args.listings_for), set_cookies=tuple(args.set_cookie),
    )


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; prints `simulator listening on URL` once it accepts."""
    args = build_parser().parse_args(argv)
    if args.print_curl is not None:
        return _print_curl(args)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"airbnb-sync simulator: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Simulator(config) as simulator:
            print(f"simulator listening on {simulator.url}", flush=True)
            while not stopping.wait(0.5):
                pass
    except OSError as exc:
        print(f"airbnb-sync simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _print_curl(args: argparse.Namespace) -> int:
    from airbnb_sync.simulator.paste_sample import sample_curl

    if not args.print_curl.isdigit():
        print(f"airbnb-sync simulator: --print-curl needs a host's user id (digits), got "
              f"{args.print_curl!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(sample_curl(args.print_curl, None if args.no_api_key else args.api_key))
    return EXIT_OK
