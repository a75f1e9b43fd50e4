"""The `session_restored` alert: what resumes, what is fetched again, what is lost for good."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from airbnb_sync.admin.alerts import session_restored_alert

RESTORED = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
OUTAGE = datetime(2026, 5, 20, 5, 0, tzinfo=UTC)


def test_the_alert_names_the_catch_up_and_the_weeks_lost() -> None:
    alert = session_restored_alert("58765432", "Downtown lofts", RESTORED, OUTAGE,
                                   [(date(2026, 6, 7), date(2027, 5, 30))],
                                   [date(2026, 5, 17), date(2026, 5, 24), date(2026, 5, 31)])
    assert alert["event"] == "session_restored" and alert["account"] == "58765432"
    assert alert["catch_up"] == [{"from": "2026-06-07", "to": "2027-05-30"}]
    assert alert["lost_weeks"] == ["2026-05-17", "2026-05-24", "2026-05-31"]
    text = alert["text"]
    assert "58765432 (Downtown lofts) was restored" in text
    assert f"without data since {OUTAGE.isoformat()}" in text
    assert "fetched now: 2026-06-07..2027-05-30" in text
    assert "3 week(s) (2026-05-17..2026-05-31) left Airbnb's horizon" in text
    json.dumps(alert)


def test_an_inactive_account_is_only_told_it_resumes() -> None:
    alert = session_restored_alert("41234567", None, RESTORED, None, [], [])
    assert alert["text"].endswith("was restored at 2026-12-06T09:30:00+00:00; syncing resumes.")
    assert alert["catch_up"] == [] and alert["outage_started_at"] is None
