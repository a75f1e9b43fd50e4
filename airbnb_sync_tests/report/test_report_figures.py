"""The report's figures match the warehouse: numbers computed here in SQL (over the
`*_latest` views and the raw snapshots) are the numbers the pages show, on SQLite,
PostgreSQL and TimescaleDB; and a NULL stays missing, never 0."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from report_rows import (
    ACCOUNT,
    CABIN,
    FIRST_FETCH,
    LOFT,
    NULL_WEEK,
    SECOND_FETCH,
    SPAN,
    TODAY,
    WEEKS,
    read_page,
)

from airbnb_sync.report.build import ReportResult, account_page, build_report
from airbnb_sync.report.data import ReportRange

DASH = "\N{EN DASH}"


def _name(engine: sa.Engine, view: str) -> str:
    return f"airbnb.{view}" if engine.dialect.name == "postgresql" else view


def _rate(value: float) -> str:
    return f"{value * 100:.2f}%"


def test_weekly_funnel_cells_are_the_warehouse_figures(seeded: sa.Engine,
                                                       report: ReportResult) -> None:
    page = read_page(report.folder / account_page(ACCOUNT))
    query = sa.text(f"SELECT listing_id, week_start, p2_impressions, conversion_rate "
                    f"FROM {_name(seeded, 'visibility_metrics_latest')}")
    with seeded.connect() as connection:
        rows = connection.execute(query).all()
    assert len(rows) == 6
    for listing_id, week, first_page, conversion in rows:
        week = week if isinstance(week, str) else week.isoformat()
        cells = page.rows[f"funnel-{listing_id}-{week}"]
        assert cells[0][1].split()[0] == week
        assert cells[1][1].split()[0] == f"{first_page:,}"  # first-page impressions
        overall_class, overall = cells[6]
        if conversion is None:
            assert overall.startswith(DASH) and "missing" in overall_class
        else:
            assert overall.split()[0] == _rate(conversion)


def test_a_null_week_is_a_dash_and_its_neighbours_have_no_change(seeded: sa.Engine,
                                                                 tmp_path: Path) -> None:
    # A Monday after the last week ended: every week is complete, so each has a change.
    span = ReportRange(SPAN.start, SPAN.end, today=WEEKS[-1] + timedelta(days=8))
    report = build_report(seeded, tmp_path / "report", span)
    page = read_page(report.folder / account_page(ACCOUNT))
    null_week = page.rows[f"funnel-{LOFT}-{NULL_WEEK}"][6][1]
    after = page.rows[f"funnel-{LOFT}-{NULL_WEEK + timedelta(weeks=1)}"][6][1]
    assert null_week == f"{DASH} {DASH}"  # the figure and its change
    assert after.split()[1] == DASH  # 3.00% against a missing week: no change, not +3 pp
    assert "0.00%" not in null_week


def test_the_gap_ranking_is_the_warehouse_average(seeded: sa.Engine,
                                                  report: ReportResult) -> None:
    query = sa.text(
        f"SELECT listing_id, AVG(conversion_rate_your), AVG(conversion_rate_similar), "
        f"AVG(p3_impressions_your), COUNT(DISTINCT metric_date) "
        f"FROM {_name(seeded, 'conversion_metrics_latest')} "
        f"WHERE metric_date BETWEEN :start AND :today GROUP BY listing_id")
    with seeded.connect() as connection:
        rows = connection.execute(query, {"start": SPAN.start, "today": TODAY}).all()
    index = read_page(report.index)
    gaps = {}
    for listing_id, yours, similar, views, days in rows:
        cells = [text for _, text in index.rows[f"gap-{listing_id}"]]
        gap = float(yours) - float(similar)
        gaps[listing_id] = gap
        assert cells[2] == _rate(float(yours))
        assert cells[4] == f"{gap * 100:+.2f} pp"
        assert cells[5] == f"{float(views):,.1f}"
        assert cells[7] == str(days)
    ranked = [row_id.removeprefix("gap-") for row_id in index.rows if row_id.startswith("gap-")]
    assert ranked == sorted(gaps, key=gaps.get)


def test_the_movers_are_week_over_week_changes(seeded: sa.Engine, report: ReportResult) -> None:
    week, before = WEEKS[1], WEEKS[0]  # the newest week that has ended by Wednesday 06-18
    query = sa.text(f"SELECT listing_id, week_start, p3_impressions "
                    f"FROM {_name(seeded, 'visibility_metrics_latest')}")
    with seeded.connect() as connection:
        views = {(listing, str(start)): value
                 for listing, start, value in connection.execute(query)}
    index = read_page(report.index)
    for listing_id in (LOFT, CABIN):
        now, then = views[(listing_id, str(week))], views[(listing_id, str(before))]
        cells = [text for _, text in index.rows[f"mover-{listing_id}"]]
        assert cells[2:6] == [str(week), f"{now:,}", f"{then:,}",
                              f"{(now - then) / then * 100:+.1f}%"]


def test_demand_pickup_is_the_growth_between_two_fetches(seeded: sa.Engine,
                                                         report: ReportResult) -> None:
    stay_week = WEEKS[2]
    query = sa.text(
        f"SELECT scraped_on, SUM(p3_impressions_your) "
        f"FROM {_name(seeded, 'conversion_metrics')} "
        f"WHERE listing_id = :listing AND metric_date BETWEEN :today AND :week_end "
        f"GROUP BY scraped_on ORDER BY scraped_on")
    with seeded.connect() as connection:
        totals = [int(total) for _, total in connection.execute(query, {
            "listing": LOFT, "today": TODAY, "week_end": stay_week + timedelta(days=6)})]
    page = read_page(report.folder / account_page(ACCOUNT))
    first = [text for _, text in page.rows[f"pickup-{LOFT}-{stay_week}-{FIRST_FETCH}"]]
    second = [text for _, text in page.rows[f"pickup-{LOFT}-{stay_week}-{SECOND_FETCH}"]]
    assert first[2:4] == [f"{totals[0]:,}", DASH]  # a first fetch has no growth yet
    assert second[2:4] == [f"{totals[1]:,}", f"{totals[1] - totals[0]:+,}"]
    assert totals[1] > totals[0]


def test_charts_plot_every_known_day_and_mark_the_null_day(seeded: sa.Engine,
                                                            report: ReportResult) -> None:
    query = sa.text(
        f"SELECT listing_id, COUNT(p3_impressions_your), COUNT(*) - COUNT(p3_impressions_your) "
        f"FROM {_name(seeded, 'conversion_metrics_latest')} "
        f"WHERE metric_date BETWEEN :start AND :end GROUP BY listing_id")
    with seeded.connect() as connection:
        counts = connection.execute(query, {"start": SPAN.start, "end": SPAN.end}).all()
    page = read_page(report.folder / account_page(ACCOUNT))
    for listing_id, known, null in counts:
        assert page.markers[f"series-{listing_id}-views-your"] == known
        assert page.markers.get(f"missing-{listing_id}-views-your", 0) == null
    assert page.markers[f"missing-{LOFT}-views-your"] == 1


def test_listing_names_are_escaped_and_the_summary_names_the_movers(
        report: ReportResult) -> None:
    html = (report.folder / account_page(ACCOUNT)).read_text()
    assert "Loft &lt;b&gt;by the lake&lt;/b&gt;" in html and "<b>by the lake" not in html
    assert '"DejaVu Sans"' in html  # the inline style sheet itself is not escaped
    assert "| Test host (9223372036854775001) | 2 | 2025-06-08 | 0 | ok |" in report.summary
    assert "Cabin" in report.summary and "+100.0%" in report.summary
