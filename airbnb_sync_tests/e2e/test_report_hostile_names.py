"""Hostile listing names through the real path: a server that answers like Airbnb (the
simulator) serves them, a Dagster run syncs them, the `insights_report` asset builds the
pages and its Markdown summary; then headless Chromium opens the pages.

A name holding a Markdown image must not make the Dagster UI fetch it, HTML in a name must
not break a table, and a 200,000-character name must not make a page 2 million pixels wide:
it is cut in the layout, whole in its tooltip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest
from database_servers import running_in_ci
from markdown_it import MarkdownIt
from pipeline_helpers import API_KEY, HOSTS, run_range, weeks_ending_now

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.simulator import Simulator, SimulatorConfig
from airbnb_sync.simulator.data import SimListing

pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TRACKER = "![t](https://tracker.example/x.png)"
TABLE_BREAKER = "</td></tr></table><img src=https://tracker.example/y.png><b>bold</b> | x"
LONG_NAME = "Ocean" * 40_000  # 200,000 characters, no space to wrap at
NAMES = {"9000000000000000001": TRACKER, "9000000000000000002": TABLE_BREAKER,
         "9000000000000000003": LONG_NAME}
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """The simulator, with the first host's listings named by an attacker."""
    listings = tuple(SimListing(id=listing_id, listing_name=name)
                     for listing_id, name in NAMES.items())
    with Simulator(SimulatorConfig(api_key=API_KEY, accounts={HOSTS[0]: listings})) as sim:
        yield sim


@pytest.fixture
def synced_report(pipeline_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  ) -> tuple[Path, str]:
    """Three weeks of the first host synced (so the last complete week has movers), then the
    report built by its asset: the index and the summary of its materialization."""
    monkeypatch.setenv("AIRBNB_SYNC_REPORTS_DIR", str(tmp_path / "reports"))
    first, last = weeks_ending_now(3)
    assert run_range(HOSTS[0], first, last).success
    defs = build_definitions(load_settings())
    built = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.get(), asset_selection=[dg.AssetKey("insights_report")])
    assert built.success
    (materialization,) = built.asset_materializations_for_node("insights_report")
    return (Path(materialization.metadata["path"].value),
            materialization.metadata["summary"].value)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_summary_renders_the_names_as_text(synced_report: tuple[Path, str]) -> None:
    _, summary = synced_report
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(summary)
    tags = _Tags()
    tags.feed(html)
    assert {tag for tag, _ in tags.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "p",
                                              "strong"}, html[:2000]
    assert not any("src" in attrs or "href" in attrs for _, attrs in tags.tags)
    assert "tracker&#46;example" in summary  # the movers table names the listings
    assert len(summary) < 10_000  # the long name is cut in the metadata too


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if running_in_ci(os.environ):
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_pages_stay_as_wide_as_the_window_and_load_nothing(synced_report: tuple[Path, str],
                                                           browser) -> None:
    index, _ = synced_report
    for page_path in (index, index.parent / f"account-{HOSTS[0]}.html"):
        page = browser.new_page(viewport=VIEWPORT)
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda request, seen=requests: seen.append(request.url))
        page.on("pageerror", lambda exc, seen=errors: seen.append(str(exc)))
        page.on("console", lambda m, seen=errors: seen.append(m.text) if m.type == "error"
                else None)
        page.goto(page_path.as_uri(), wait_until="load")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"], (page_path.name, width)
        assert requests == [page_path.as_uri()] and errors == []
        assert page.locator("img").count() == 0
        assert page.locator("b", has_text="bold").count() == 0  # the name's <b> is text
        tooltips = page.locator(".name").evaluate_all(
            "spans => spans.map(s => [s.title, s.textContent])")
        long = [(title, text) for title, text in tooltips if title == LONG_NAME]
        assert long and all(len(text) <= 120 for _, text in long)
        assert any(title == TABLE_BREAKER and text.startswith("</td></tr>")
                   for title, text in tooltips)
        if page_path == index:
            rows = page.locator("#ranking tr[id^=gap-]")
            assert rows.count() == len(NAMES)  # the table was not broken open
            assert all(rows.nth(i).locator("td").count() == 8 for i in range(rows.count()))
        page.close()
