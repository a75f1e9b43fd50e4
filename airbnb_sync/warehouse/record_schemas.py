"""JSON Schemas of parsed records (`schemas/parsed_<table>.schema.json`), generated from the
insight tables' declaration (`tables.INSIGHT_TABLES`, as the datasets registered them) so that
they cannot drift from it.

They describe a record in JSON form (days and moments as ISO text) for readers outside Python;
the sync itself checks frames with Pandera (`warehouse.frames`). Rules that span columns (e.g.
week_end = week_start + 6) and the Sunday rule are Pandera's only.

    python -m airbnb_sync.datasets.record_schemas [--check] [FOLDER]

writes them (default: the package's `schemas/`, i.e. the repository's top-level `schemas/`);
with --check it writes nothing and exits 1 if a file differs from the declaration.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from airbnb_sync.warehouse.declare import Field, InsightTable
from airbnb_sync.warehouse.tables import INSIGHT_TABLES

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
SCHEMA_ID = "https://airbnb-sync.invalid/schemas/{file_name}"


def file_name(table: str) -> str:
    return f"parsed_{table}.schema.json"


def _property(field: Field) -> dict[str, Any]:
    kind = field.kind
    schema = dict(kind.json)
    if field.nullable:
        schema["type"] = [schema["type"], "null"]
    if kind.minimum is not None:
        schema["minimum"] = kind.minimum
    if kind.maximum is not None:
        schema["maximum"] = kind.maximum
    return schema


def record_schema(declared: InsightTable) -> dict[str, Any]:
    """A list of records of the table: every column present, nothing else, null only where the
    column is nullable."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(file_name=file_name(declared.name)),
        "title": f"Parsed {declared.name} records (JSON form): {declared.description}",
        "$comment": "Generated from airbnb_sync/warehouse/tables.py by "
                    "`python -m airbnb_sync.warehouse.record_schemas`: do not edit.",
        "type": "array",
        "items": {
            "type": "object",
            "required": list(declared.columns),
            "additionalProperties": False,
            "properties": {field.name: _property(field) for field in declared.fields},
        },
    }


def render(declared: InsightTable) -> str:
    """The file's text: stable key order and indentation, so that diffs stay readable."""
    return json.dumps(record_schema(declared), indent=2, ensure_ascii=False) + "\n"


def stale_files(folder: Path) -> list[Path]:
    """The schema files in `folder` that are missing or differ from the declaration."""
    stale = []
    for declared in INSIGHT_TABLES.values():
        path = folder / file_name(declared.name)
        if not path.is_file() or path.read_text(encoding="utf-8") != render(declared):
            stale.append(path)
    return stale


def write_record_schemas(folder: Path) -> list[Path]:
    """Write every table's schema into `folder`; returns the files that changed."""
    changed = stale_files(folder)
    for declared in INSIGHT_TABLES.values():
        path = folder / file_name(declared.name)
        if path in changed:
            path.write_text(render(declared), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=SCHEMAS_DIR)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file differs from the declaration")
    args = parser.parse_args(argv)
    if not INSIGHT_TABLES:
        print("no insight table is registered: run python -m airbnb_sync.datasets.record_schemas",
              file=sys.stderr)
        return 2
    if args.check:
        stale = stale_files(args.folder)
        for path in stale:
            print(f"{path} differs from the declaration", file=sys.stderr)
        return 1 if stale else 0
    for path in write_record_schemas(args.folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
