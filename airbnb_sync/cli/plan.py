"""`airbnb-sync plan`: what the daily schedule will ask of each account in the next days,
against its request budget, and the staleness it can promise (sync/planner.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from airbnb_sync.cli.common import EXIT_OK, BadInput, Command, print_json, set_handler
from airbnb_sync.core.settings import Settings

if TYPE_CHECKING:
    from airbnb_sync.sync.daily import AccountSchedule

MAX_DAYS = 366
MAX_LISTINGS = 100_000


def _bounded(name: str, low: int, high: int) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {raw!r}") \
                from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low} and {high}, "
                                             f"got {value}")
        return value

    return convert


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a day such as 2026-05-01") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="ID", help="only this account")
    parser.add_argument("--days", type=_bounded("--days", 1, MAX_DAYS), default=7, metavar="N",
                        help="days to plan, from --from (default 7)")
    parser.add_argument("--from", dest="first_day", type=_day, metavar="DAY",
                        help="first day to plan (default: today, UTC)")
    parser.add_argument("--listings", type=_bounded("--listings", 0, MAX_LISTINGS), metavar="N",
                        help="what if the account(s) had N listings (also without accounts)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    set_handler(parser, run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.sync.daily import account_schedules, schedule_for, what_if_listings
    from airbnb_sync.warehouse.installation import with_installation_first_week

    first_day: date = args.first_day or datetime.now(UTC).date()
    store = open_store(settings)
    settings = with_installation_first_week(settings)
    account_ids = [record.account_id for record in store.list()]
    if args.account is not None:
        if args.account not in account_ids:
            raise BadInput(f"no account {args.account}; `airbnb-sync accounts list` shows them")
        account_ids = [args.account]
    schedules = account_schedules(settings, store.engine, account_ids, first_day, args.days,
                                  listings_override=args.listings)
    if not account_ids and args.listings is not None:
        schedules = [schedule_for(settings, None, what_if_listings(args.listings), first_day,
                                  args.days)]
    if args.json:
        print_json({"first_day": first_day.isoformat(), "days": args.days,
                    "what_if_listings": args.listings,
                    "accounts": [schedule.as_dict() for schedule in schedules]})
    else:
        print(render_text(schedules, first_day, args.days))
    return EXIT_OK


def render_text(schedules: list[AccountSchedule], first_day: date, days: int) -> str:
    lines = [f"daily plan for {days} day(s) from {first_day}"]
    if not schedules:
        lines.append("no accounts; register one with `airbnb-sync accounts add`, or ask "
                     "`airbnb-sync plan --listings N` what an account of N listings gets")
    for schedule in schedules:
        data = schedule.as_dict()
        name = data["account_id"] or "what-if account"
        listings = data["listings"] if data["listings"] is not None else "unknown"
        lines.append(f"{name}: {listings} listings, budget {data['budget']} requests/day "
                     f"({data['budget_reserved']} kept back, {data['budget_planned']} planned; "
                     f"runs of at most {data['max_run_requests']} requests)")
        per_day = data["requests_per_day"]
        lines.append(f"  requests per day: {', '.join(str(n) for n in per_day)}"
                     f" (max {max(per_day)})")
        promise = data["promise"]
        if promise is not None:
            lines.append(f"  promised staleness: near {promise['near_days']} day(s), far "
                         f"{promise['far_days']} days, oldest week {promise['oldest_week_days']}"
                         f" days; over these days: {data['observed_staleness_days']} days; "
                         f"promise {'holds' if data['promise_holds'] else 'DOES NOT hold'}")
        lines.append(f"  {data['note']}")
    return "\n".join(lines)


COMMAND = Command("the daily plan of each account against its request budget", configure,
                  own_parser=True)
