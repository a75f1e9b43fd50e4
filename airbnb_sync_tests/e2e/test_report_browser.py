"""The demo's insights report in headless Chromium (Debian's package, driven by Playwright).

`airbnb-sync demo` runs as `make demo` runs it (simulator, two hosts, syncs through Dagster,
then the `insights_report` asset) into a fresh DAGSTER_HOME; the test opens the path it
printed and checks, in a real browser: no console error and no request but the page itself;
every chart with its four series and, per series, one point per day the warehouse has a
figure for (counted here in SQL); days stored as NULL drawn as "missing" crosses, not points.
Screenshots are kept in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from database_servers import running_in_ci

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AIRBNB_SYNC = str(Path(sys.executable).parent / "airbnb-sync")
FIGURES = {"views": ("p3_impressions_your", "p3_impressions_similar"),
           "conversion": ("conversion_rate_your", "conversion_rate_similar")}


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index the demo printed; its warehouse is beside it in DAGSTER_HOME."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if running_in_ci(os.environ):
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    home = tmp_path_factory.mktemp("demo_home")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AIRBNB_") or name.startswith("AIRBNB_SYNC_TEST_")}
    env["DAGSTER_HOME"] = str(home)
    result = subprocess.run([AIRBNB_SYNC, "demo"], env=env, cwd=home, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = re.findall(r"^insights report: (.+)$", result.stdout, re.MULTILINE)
    assert printed, result.stdout[-2000:]
    index = Path(printed[-1])
    assert index == home / "reports" / "index.html" and index.is_file()
    return index


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's chromium, never a downloaded build; root needs --no-sandbox.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


class Visit:
    """A page opened with every console message and request recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(path.as_uri(), wait_until="load")
        self.url = path.as_uri()

    def markers(self, group_id: str) -> int:
        """The points drawn in a series group: 0 when the group is absent."""
        return self.page.locator(f'g[id="{group_id}"] use').count()


def _range(visit: Visit) -> tuple[str, str]:
    header = visit.page.locator("header p").inner_text()
    found = re.search(r"stay dates (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", header)
    assert found, header
    return found.group(1), found.group(2)


def _counts(warehouse: Path, account_id: str, start: str, end: str) -> dict[tuple, int]:
    """(listing, figure column) -> days with a value, and (listing, column, None) -> NULL
    days, over the newest snapshot of each stay date (the `_latest` view)."""
    columns = [column for pair in FIGURES.values() for column in pair]
    select = ", ".join(f"COUNT({c}), COUNT(*) - COUNT({c})" for c in columns)
    counts: dict[tuple, int] = {}
    with sqlite3.connect(warehouse) as connection:
        rows = connection.execute(
            f"SELECT listing_id, {select} FROM conversion_metrics_latest WHERE account_id = ? "
            "AND metric_date BETWEEN ? AND ? GROUP BY listing_id", (account_id, start, end))
        for listing_id, *values in rows:
            for position, column in enumerate(columns):
                counts[(listing_id, column)] = values[2 * position]
                counts[(listing_id, column, None)] = values[2 * position + 1]
    return counts


def test_index_loads_offline_and_links_every_account(demo_report: Path, browser) -> None:
    visit = Visit(browser, demo_report)
    assert visit.errors == []
    assert visit.requests == [visit.url]  # the page itself, nothing else
    links = visit.page.locator("#accounts a").evaluate_all("links => links.map(a => a.href)")
    assert len(links) == 2 and all(link.startswith("file://") for link in links)
    assert visit.page.locator("#ranking tr[id^=gap-]").count() == 5  # 1 + 4 listings
    ARTIFACTS.mkdir(exist_ok=True)
    visit.page.screenshot(path=str(ARTIFACTS / "report-index.png"), full_page=True)


@pytest.mark.parametrize("account_id", ["41234567", "58765432"])
def test_every_chart_has_its_series_and_points(demo_report: Path, browser,
                                               account_id: str) -> None:
    page_path = demo_report.parent / f"account-{account_id}.html"
    visit = Visit(browser, page_path)
    assert visit.errors == []
    assert visit.requests == [visit.url]
    start, end = _range(visit)
    counts = _counts(demo_report.parent.parent / "warehouse.db", account_id, start, end)
    listings = sorted({key[0] for key in counts})
    assert len(listings) == (1 if account_id == "41234567" else 4)
    charts = visit.page.locator("div.chart svg")
    assert charts.count() == len(listings)
    assert all(charts.nth(i).bounding_box()["width"] > 600 for i in range(charts.count()))
    nulls = 0
    for listing_id in listings:
        series = visit.page.locator(f'g[id^="series-{listing_id}-"]')
        assert series.count() == 4  # page views and conversion, yours and similar listings'
        for figure, (your, similar) in FIGURES.items():
            for whose, column in (("your", your), ("similar", similar)):
                points = visit.markers(f"series-{listing_id}-{figure}-{whose}")
                missing = visit.markers(f"missing-{listing_id}-{figure}-{whose}")
                assert points == counts[(listing_id, column)], (listing_id, column)
                assert missing == counts[(listing_id, column, None)], (listing_id, column)
                nulls += missing
    if account_id == "58765432":
        assert nulls > 0  # the simulator leaves 3-12 % of days without data
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=str(ARTIFACTS / "report-account.png"), full_page=True)


def test_a_null_day_is_drawn_missing_not_as_zero(demo_report: Path, browser) -> None:
    """The first NULL day of a listing: no point at its date, a cross above the plot, and
    points on both neighbours' dates (so the line has a gap there, not a dip to 0)."""
    account_id = "58765432"
    visit = Visit(browser, demo_report.parent / f"account-{account_id}.html")
    start, end = _range(visit)
    with sqlite3.connect(demo_report.parent.parent / "warehouse.db") as connection:
        listing_id, day = connection.execute(
            "SELECT listing_id, metric_date FROM conversion_metrics_latest WHERE account_id = ? "
            "AND p3_impressions_your IS NULL AND metric_date BETWEEN ? AND ? "
            "ORDER BY metric_date, listing_id LIMIT 1", (account_id, start, end)).fetchone()
    positions = "uses => uses.map(u => [Number(u.getAttribute('x')), Number(u.getAttribute('y'))])"
    points = visit.page.locator(f'g[id="series-{listing_id}-views-your"] use').evaluate_all(
        positions)
    crosses = visit.page.locator(f'g[id="missing-{listing_id}-views-your"] use').evaluate_all(
        positions)
    assert crosses, f"no missing marker for listing {listing_id} ({day} is NULL)"
    for x, y in crosses:
        assert all(abs(px - x) > 1 for px, _ in points), f"a point on the NULL day {day}"
        assert y < min(py for _, py in points)  # above every point (SVG y grows downwards)
    first_x = min(x for x, _ in crosses)
    before = [px for px, _ in points if px < first_x]
    after = [px for px, _ in points if px > first_x]
    if before and after:  # a gap between two drawn days, not a dip to 0
        assert visit.page.locator(
            f'g[id="series-{listing_id}-views-your"] path').first.get_attribute("d").count(
            "M") >= 2
    assert visit.errors == []
