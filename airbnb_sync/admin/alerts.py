"""Alerts for people: a failed run, an expired Airbnb session, a session about to expire, a
session restored after an outage.

Each alert is one JSON object POSTed to `AIRBNB_SYNC_ALERT_WEBHOOK`: a Slack-compatible
`text` plus structured fields, so a chat channel and a machine can both read it. Delivery
is retried by urllib3 and, when it still fails, logged: an alert must never crash the sensor
that sends it. Without a webhook the alert is one log line. Texts pass through `redact`, and
the webhook URL itself (a secret in Slack) is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from airbnb_sync.core.redact import redact, register_secret

logger = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = 4
DELIVERY_TIMEOUT = 10.0
REFRESH_COMMAND = "airbnb-sync accounts update {account} --cookie-file -"
PASTE_COMMAND = "airbnb-sync accounts update {account} --from-curl -"


@dataclass(frozen=True)
class FailedRun:
    """What people need to know about a failed run, read from Dagster's events."""

    run_id: str
    job_name: str
    accounts: Sequence[str]
    partitions: Mapping[str, str]
    error_class: str
    error: str
    run_url: str


def run_failed_alert(run: FailedRun) -> dict[str, Any]:
    where = ", ".join(run.accounts) or "no account"
    span = "..".join(dict.fromkeys(run.partitions.values())) or "no partitions"
    error = redact(run.error)
    return {
        "text": (f"airbnb-sync: run {run.run_id[:8]} failed for account {where} "
                 f"({span}): {run.error_class}: {_first_line(error)}\n{run.run_url}"),
        "event": "run_failed",
        "run_id": run.run_id,
        "job": run.job_name,
        "accounts": list(run.accounts),
        "partitions": dict(run.partitions),
        "error_class": run.error_class,
        "error": error,
        "run_url": run.run_url,
    }


def session_expired_alert(account: str, label: str | None, expired_at: datetime | None,
                          run_id: str | None, run_url: str | None) -> dict[str, Any]:
    fix = REFRESH_COMMAND.format(account=account)
    name = f"{account} ({label})" if label else account
    when = expired_at.isoformat() if expired_at else None
    return {
        "text": (f"airbnb-sync: the Airbnb session of account {name} expired"
                 f"{f' at {when}' if when else ''}; nothing is sent for it until it is "
                 f"refreshed. Log in to Airbnb as this host, copy the Cookie header, and run: "
                 f"{fix}"),
        "event": "session_expired",
        "account": account,
        "expired_at": when,
        "fix": fix,
        "run_id": run_id,
        "run_url": run_url,
    }


def session_expiring_alert(account: str, label: str | None, expires_at: datetime,
                           now: datetime) -> dict[str, Any]:
    """Before a known expiry: the session still works, and a fresh paste avoids the gap."""
    fix = PASTE_COMMAND.format(account=account)
    name = f"{account} ({label})" if label else account
    hours = max(0.0, (expires_at - now).total_seconds() / 3600)
    return {
        "text": (f"airbnb-sync: the Airbnb session of account {name} expires at "
                 f"{expires_at.isoformat()} (in {hours:.1f} h). Log in to Airbnb as this host, "
                 f"copy a request to /api/v3/ as cURL (bash), and run: {fix}"),
        "event": "session_expiring",
        "account": account,
        "expires_at": expires_at.isoformat(),
        "hours_left": round(hours, 1),
        "fix": fix,
    }


def behind_schedule_alert(account: str, label: str | None, reason: str,
                          plan: Mapping[str, Any]) -> dict[str, Any]:
    """The account's day does not fit its budget, or its runs pile up: a person decides
    (more budget, fewer listings per Airbnb account) before the figures go stale."""
    name = f"{account} ({label})" if label else account
    return {
        "text": f"airbnb-sync: account {name} is behind schedule: {reason}",
        "event": "behind_schedule",
        "account": account,
        "reason": reason,
        "listings": plan.get("listings"),
        "budget": plan.get("budget"),
        "max_staleness_days": plan.get("max_staleness_days"),
        "overdue_runs": plan.get("overdue_runs", 0),
    }


def session_restored_alert(account: str, label: str | None, restored_at: datetime,
                           outage_started_at: datetime | None,
                           catch_up: Sequence[tuple[date, date]],
                           lost: Sequence[date]) -> dict[str, Any]:
    """A fresh session replaced a refused one: syncing resumes, and what was missed is
    fetched again (`catch_up`), except weeks Airbnb stopped serving during the outage."""
    name = f"{account} ({label})" if label else account
    since = outage_started_at.isoformat() if outage_started_at else None
    spans = ", ".join(f"{first}..{last}" for first, last in catch_up)
    text = (f"airbnb-sync: the Airbnb session of account {name} was restored at "
            f"{restored_at.isoformat()}"
            f"{f' (without data since {since})' if since else ''}; syncing resumes"
            f"{f', and the weeks missed meanwhile are fetched now: {spans}' if spans else ''}.")
    if lost:
        text += (f" {len(lost)} week(s) ({lost[0]}..{lost[-1]}) left Airbnb's horizon during "
                 "the outage and cannot be fetched any more.")
    return {
        "text": text,
        "event": "session_restored",
        "account": account,
        "restored_at": restored_at.isoformat(),
        "outage_started_at": since,
        "catch_up": [{"from": first.isoformat(), "to": last.isoformat()}
                     for first, last in catch_up],
        "lost_weeks": [week.isoformat() for week in lost],
    }


def deliver(webhook: str | None, alert: Mapping[str, Any], backoff_factor: float = 1.0) -> bool:
    """POST the alert, retrying transient failures; True when the receiver accepted it."""
    if webhook is None:
        logger.warning("alert (no AIRBNB_SYNC_ALERT_WEBHOOK set): %s", alert["text"])
        return False
    register_secret(webhook)
    retry = Retry(total=DELIVERY_ATTEMPTS - 1, backoff_factor=backoff_factor,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods={"POST"},
                  respect_retry_after_header=True, raise_on_status=False)
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        try:
            response = session.post(webhook, json=alert, timeout=DELIVERY_TIMEOUT)
        except requests.RequestException as exc:
            # The exception text holds the URL: name only its class.
            logger.error("could not deliver the %s alert to the webhook after %d attempts "
                         "(%s); the alert was: %s", alert["event"], DELIVERY_ATTEMPTS,
                         type(exc).__name__, alert["text"])
            return False
    if response.status_code >= 300:
        logger.error("the webhook refused the %s alert with HTTP %d after %d attempts; the "
                     "alert was: %s", alert["event"], response.status_code, DELIVERY_ATTEMPTS,
                     alert["text"])
        return False
    return True


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
