"""The committed JSON Schemas of parsed records are the ones the table declaration generates."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from warehouse_rows import conversion_records, listing_record, visibility_record

from airbnb_sync.warehouse.record_schemas import (
    SCHEMAS_DIR,
    file_name,
    main,
    record_schema,
    render,
    stale_files,
)
from airbnb_sync.warehouse.tables import INSIGHT_TABLES

TOP_LEVEL_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
REGENERATE = "python -m airbnb_sync.warehouse.record_schemas"


def test_the_committed_schemas_are_generated_from_the_declaration() -> None:
    assert SCHEMAS_DIR.resolve() == TOP_LEVEL_SCHEMAS.resolve()
    stale = [path.name for path in stale_files(TOP_LEVEL_SCHEMAS)]
    assert stale == [], f"{stale} differ from airbnb_sync/warehouse/tables.py: run `{REGENERATE}`"
    parsed = {path.name for path in TOP_LEVEL_SCHEMAS.glob("parsed_*.schema.json")}
    assert parsed == {file_name(table) for table in INSIGHT_TABLES}


def _json_form(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def iso(value: Any) -> str:
        if isinstance(value, date | datetime):
            return value.isoformat()
        raise TypeError(value)
    return json.loads(json.dumps(records, default=iso))


def _validator(table: str) -> Draft202012Validator:
    resource = files("airbnb_sync") / "schemas" / file_name(table)
    schema = json.loads(resource.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


SAMPLES = {
    "listings": lambda: [listing_record(), listing_record(listing_name=None)],
    "conversion_metrics": lambda: conversion_records(p3_impressions_your=None),
    "visibility_metrics": lambda: [visibility_record(), visibility_record(conversion_rate=None)],
}


@pytest.mark.parametrize("table", sorted(INSIGHT_TABLES))
def test_parsed_records_in_json_form_meet_their_schema(table: str) -> None:
    errors = list(_validator(table).iter_errors(_json_form(SAMPLES[table]())))
    assert errors == []


# (table, field, value that breaks the declaration)
BROKEN: list[tuple[str, str, Any]] = [
    ("listings", "listing_id", "12a4"),
    ("listings", "scraped_at", None),
    ("listings", "week_start", "2025-02-30"),
    ("conversion_metrics", "conversion_rate_your", 1.5),
    ("conversion_metrics", "p3_impressions_similar", -1),
    ("conversion_metrics", "p3_impressions_your", 2.5),
    ("conversion_metrics", "scraped_at", "2025-06-10T08:30:15"),
    ("visibility_metrics", "search_conversion_rate", -0.1),
    ("visibility_metrics", "account_id", 9223372036854775001),
    ("visibility_metrics", "occupancy_rate", 0.5),
]


@pytest.mark.parametrize(("table", "field", "value"), BROKEN,
                         ids=[f"{table}.{field}={value!r}" for table, field, value in BROKEN])
def test_a_value_breaking_the_declaration_is_refused(table: str, field: str, value: Any) -> None:
    records = _json_form(SAMPLES[table]())
    records[1][field] = value
    errors = list(_validator(table).iter_errors(records))
    assert errors, f"{field}={value!r} was accepted"
    assert all(list(error.absolute_path)[:1] == [1] for error in errors)


def test_every_column_is_required() -> None:
    for declared in INSIGHT_TABLES.values():
        record = _json_form(SAMPLES[declared.name]())[0]
        for column in declared.columns:
            partial = {key: value for key, value in record.items() if key != column}
            assert not _validator(declared.name).is_valid([partial]), column
        assert record_schema(declared)["items"]["required"] == list(declared.columns)


def test_the_entry_point_writes_and_checks(tmp_path: Path) -> None:
    assert main(["--check", str(tmp_path)]) == 1
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    listings = tmp_path / file_name("listings")
    assert listings.read_text(encoding="utf-8") == render(INSIGHT_TABLES["listings"])
    conversion = tmp_path / file_name("conversion_metrics")
    text = conversion.read_text(encoding="utf-8")
    conversion.write_text(text.replace('"maximum": 1', '"maximum": 2'), encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1
    assert stale_files(tmp_path) == [conversion]
