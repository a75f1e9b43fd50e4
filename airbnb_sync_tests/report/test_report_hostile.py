"""The report with what Airbnb (or anyone between) can put in the warehouse: listing names and
labels holding Markdown, HTML or 200,000 characters, account ids that are paths, links planted
in the output folder, and output folders that cannot be written. Also what a reader needs:
the week in progress marked and never compared, labels in the portfolio tables, a readable
missing-weeks cell, a text alternative for every chart, and a default range that shows every
week with data.

The Markdown summary is rendered with markdown-it-py (CommonMark with raw HTML and tables, as
the Dagster UI's renderer reads it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from markdown_it import MarkdownIt
from report_rows import ACCOUNT, CABIN, LOFT, SPAN, TODAY, WEEKS, read_page, seed

from airbnb_sync.report import data as report_data
from airbnb_sync.report.build import ReportError, account_page, build_report
from airbnb_sync.report.data import ReportRange
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.tables import accounts, listings

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TRACKER = "![t](https://tracker.example/x.png)"
HTML_NAME = "</td></tr></table><img src=x onerror=alert(1)><b>bold</b> | pipe"
LONG_NAME = "W" * 200_000
HOSTILE_LABEL = "[click](https://evil.example) <script>alert(1)</script>"


def _rename(engine: sa.Engine, listing_id: str, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(listings.update().where(listings.c.listing_id == listing_id)
                           .values(listing_name=name))


def _label(engine: sa.Engine, label: str) -> None:
    with engine.begin() as connection:
        connection.execute(accounts.update().where(accounts.c.account_id == ACCOUNT)
                           .values(label=label))


class _Rendered(HTMLParser):
    """Tags and table cells of rendered Markdown."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _render(markdown: str) -> _Rendered:
    rendered = _Rendered()
    rendered.feed(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))
    return rendered


def test_the_summary_shows_hostile_names_as_text_only(seeded: sa.Engine, tmp_path: Path) -> None:
    _rename(seeded, LOFT, TRACKER)
    _rename(seeded, CABIN, HTML_NAME)
    _label(seeded, HOSTILE_LABEL)
    result = build_report(seeded, tmp_path / "report", SPAN)
    rendered = _render(result.summary)
    assert set(rendered.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "p", "strong"}, \
        rendered.tags  # no img, a, script, b
    tables = [row for row in rendered.rows if row]
    assert all(len(row) == 5 for row in tables[:2])  # accounts header + 1 row, 5 cells each
    movers = tables[2:]
    assert len(movers) == 3 and all(len(row) == 7 for row in movers)  # header + 2 movers
    names = {row[0] for row in movers[1:]}
    assert TRACKER in names  # shown literally, whole
    assert any(name.startswith("</td></tr></table><img") for name in names)
    assert tables[1][0] == f"{HOSTILE_LABEL} ({ACCOUNT})"


def test_a_200000_character_name_is_cut_in_the_layout_and_whole_in_the_tooltip(
        seeded: sa.Engine, tmp_path: Path) -> None:
    _rename(seeded, LOFT, LONG_NAME)
    result = build_report(seeded, tmp_path / "report", SPAN)
    page = (result.folder / account_page(ACCOUNT)).read_text()
    index = result.index.read_text()
    for html in (page, index):
        shown = [len(text) for text in _texts(html) if text.startswith("WWW")]
        assert shown and max(shown) <= 120, shown
        assert f'title="{LONG_NAME}"' in html
    assert len(result.summary) < 5_000


def _texts(html: str) -> list[str]:
    texts: list[str] = []

    class Texts(HTMLParser):
        def handle_data(self, data: str) -> None:
            if data.strip():
                texts.append(data.strip())

    Texts().feed(html)
    return texts


def test_pages_are_written_through_new_files_never_through_a_planted_link(
        seeded: sa.Engine, tmp_path: Path) -> None:
    folder, victim = tmp_path / "report", tmp_path / "victim.txt"
    folder.mkdir()
    victim.write_text("keep me")
    (folder / ".index.html.partial").symlink_to(victim)
    (folder / f".{account_page(ACCOUNT)}.partial").symlink_to(victim)
    result = build_report(seeded, folder, SPAN)
    assert victim.read_text() == "keep me"
    for page in (result.index, *result.pages):
        assert not page.is_symlink()
        assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert sorted(path.name for path in folder.iterdir() if path.name.startswith(".")) == \
        [".account-9223372036854775001.html.partial", ".index.html.partial"]  # left alone


def test_a_new_report_folder_is_the_owners_only_whatever_the_umask(seeded: sa.Engine,
                                                                  tmp_path: Path) -> None:
    previous = os.umask(0o002)
    try:
        result = build_report(seeded, tmp_path / "report", SPAN)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(result.folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in result.folder.iterdir()} == {0o600}


@pytest.mark.parametrize("bad_id", ["/../../x", "../outside", "1/../../../x", "12\n34"])
def test_an_account_id_that_is_a_path_never_names_a_file(database_url: str, tmp_path: Path,
                                                         bad_id: str) -> None:
    engine = create_warehouse_engine(database_url)
    try:
        upgrade_to_head(engine)
        seed(engine)
        with engine.begin() as connection:
            connection.execute(accounts.insert().values(
                account_id=bad_id, label="planted", credentials="x", auth_status="ok",
                created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        folder = tmp_path / "deep" / "er" / "report"
        result = build_report(engine, folder, SPAN)
    finally:
        dispose_warehouse_engine(database_url)
    written = {path for path in tmp_path.rglob("*")
               if path.is_file() and not path.name.startswith("warehouse.db")}
    assert {path.parent for path in written} == {folder}, written
    assert sorted(path.name for path in written) == [account_page(ACCOUNT), "index.html"]
    assert result.skipped == [bad_id]
    assert "left out 1 account" in (result.skipped_message() or "")
    assert "\n" not in (result.skipped_message() or "")
    assert 'id="skipped"' in result.index.read_text()
    with pytest.raises(ReportError):
        account_page(bad_id)


def test_the_week_in_progress_is_marked_and_never_compared(report) -> None:
    page = read_page(report.folder / account_page(ACCOUNT))
    html = (report.folder / account_page(ACCOUNT)).read_text()
    in_progress = WEEKS[2]  # 2025-06-15 to 06-21 holds today, Wednesday 06-18
    assert f'<tr id="funnel-{LOFT}-{in_progress}" class="in-progress">' in html
    cells = page.rows[f"funnel-{LOFT}-{in_progress}"]
    assert cells[0][1] == f"{in_progress} in progress"
    assert all(text.endswith("so far") for _, text in cells[1:])
    assert not any("%" in text.split()[-1] or "pp" in text for _, text in cells[1:])
    ended = page.rows[f"funnel-{LOFT}-{WEEKS[1]}"]
    assert "+" in ended[4][1]  # page views of 06-08 against 06-01: a change
    assert all(mover.week_start == WEEKS[1] for mover in report.movers)


def test_movers_wait_for_a_complete_week(seeded: sa.Engine, tmp_path: Path) -> None:
    span = ReportRange(SPAN.start, SPAN.end, today=WEEKS[1] + timedelta(days=3))
    early = build_report(seeded, tmp_path / "early", span)
    assert early.movers == []  # 06-08 is in progress, 06-01 has no week before it
    assert "No two complete weeks" in early.summary


def test_the_portfolio_tables_show_labels_not_ids(report) -> None:
    index = read_page(report.index)
    for row_id in (f"gap-{LOFT}", f"gap-{CABIN}", f"mover-{LOFT}", f"mover-{CABIN}"):
        assert index.rows[row_id][1][1] == "Test host", index.rows[row_id]
    html = report.index.read_text()
    assert f'title="{ACCOUNT}">' in html  # the id is still at hand, in a tooltip


def test_the_missing_weeks_cell_reads_count_then_first_week(seeded: sa.Engine,
                                                           tmp_path: Path) -> None:
    span = ReportRange(date(2025, 5, 4), SPAN.end, today=TODAY)  # four weeks before June
    result = build_report(seeded, tmp_path / "report", span)
    cells = read_page(result.index).rows[f"coverage-{ACCOUNT}"]
    assert cells[5][1] == "4 (2025-05-04 …)", cells[5]


def test_every_chart_has_a_text_alternative(report) -> None:
    html = (report.folder / account_page(ACCOUNT)).read_text()
    for listing_id in (LOFT, CABIN):
        chart = html[html.index(f'<div class="chart" id="chart-{listing_id}">'):]
        svg = chart[:chart.index("</svg>")]
        assert f'role="img" aria-describedby="chart-text-{listing_id}"' in svg
        assert "<title>Page views and conversion rate per stay date: " in svg
        text = html[html.index(f'id="chart-text-{listing_id}">'):]
        text = text[text.index(">") + 1:text.index("</p>")]
        assert text.startswith(f"Stay dates {SPAN.start} to {SPAN.end} (28 days")
        assert "similar listings 5.0" in text and "3.00%" in text
    loft = html[html.index(f'id="chart-text-{LOFT}">'):]
    assert "27 days with figures, 1 days Airbnb showed without one" in loft[:2000]


def test_the_default_range_holds_every_week_with_data_within_the_horizon(
        seeded: sa.Engine) -> None:
    first, last = report_data.data_days(seeded)
    assert (first, last) == (SPAN.start, SPAN.end)
    today = SPAN.start + timedelta(weeks=14)  # the June weeks are 14 weeks back
    span = report_data.default_range(today, first, last)
    assert span.start == SPAN.start  # 8 fixed weeks would have started in mid-July
    assert span.end == today + timedelta(days=(5 - today.weekday()) % 7)  # this week's end
    later = SPAN.start + timedelta(days=200)  # beyond the horizon: only what Airbnb serves
    assert report_data.default_range(later, first, last).start == \
        (later - timedelta(days=180)) - timedelta(days=((later - timedelta(days=180))
                                                        .weekday() + 1) % 7)
    assert report_data.default_range(today).start <= today  # no data: this week


# --- the CLI's output folder ---------------------------------------------------------------

def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "report", *args],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def cli_env(seeded: sa.Engine, database_url: str, dagster_home: Path) -> dict[str, str]:
    return {**os.environ, "AIRBNB_SYNC_DATABASE_URL": database_url,
            "DAGSTER_HOME": str(dagster_home)}


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permissions: sysfs refuses even root
        return Path("/sys/kernel")
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    return folder


@pytest.mark.slow
@sqlite_only
@pytest.mark.parametrize("where", ["unwritable", "pseudo-filesystem", "pseudo-filesystem new",
                                   "index.html in it is a folder"])
def test_an_output_folder_that_cannot_hold_the_report_is_one_line_exit_2(
        cli_env: dict[str, str], tmp_path: Path, where: str) -> None:
    if where == "unwritable":
        output = _unwritable(tmp_path)
    elif where == "pseudo-filesystem":
        output = Path("/proc/self")
    elif where == "pseudo-filesystem new":
        output = Path("/proc/airbnb-sync-report")
    else:
        output = tmp_path / "out"
        (output / "index.html").mkdir(parents=True)
    ran = _cli("--output", str(output), env=cli_env)
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert str(output) in lines[0] and lines[0].startswith("error: ")


@pytest.mark.slow
@sqlite_only
def test_the_cli_names_the_account_ids_it_left_out(cli_env: dict[str, str], seeded: sa.Engine,
                                                   tmp_path: Path) -> None:
    with seeded.begin() as connection:
        connection.execute(accounts.insert().values(
            account_id="/../../x", label="planted", credentials="x", auth_status="ok",
            created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
    ran = _cli("--output", str(tmp_path / "out"), env=cli_env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.strip() == ("warning: left out 1 account(s) whose id in the warehouse is "
                                  "not an Airbnb user id: '/../../x' (fix or delete those "
                                  "rows)")
    assert not (tmp_path.parent / "x").exists() and not Path("/x").exists()
