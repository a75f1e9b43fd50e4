"""Jinja2 environment of the report: the templates beside this module (templates/), with
autoescaping (listing names come from Airbnb), and the filters that format figures, where a
missing figure always becomes an en dash.

Everything a page needs is inside it (styles inline, charts as inline SVG), so it opens from
a disk, a mail attachment or an air-gapped laptop, and loads nothing from the network.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
DASH = "\N{EN DASH}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rate(value: float | None) -> str:
    return DASH if _missing(value) else f"{value * 100:.2f}%"


def count(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:,.0f}"


def decimal(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:,.1f}"


def signed_count(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:+,.0f}"


def points(value: float | None) -> str:
    """A difference of two fractions, in percentage points."""
    return DASH if _missing(value) else f"{value * 100:+.2f} pp"


def percent_change(value: float | None) -> str:
    return DASH if _missing(value) else f"{value * 100:+.1f}%"


def figure(value: float | None, kind: str) -> str:
    return rate(value) if kind == "rate" else count(value)


def change(value: float | None, kind: str) -> str:
    return points(value) if kind == "rate" else percent_change(value)


def direction(value: float | None) -> str:
    if _missing(value) or value == 0:
        return "missing" if _missing(value) else ""
    return "up" if value > 0 else "down"


def missing_class(value: float | None) -> str:
    return 'class="missing"' if _missing(value) else ""


def missing_suffix(value: float | None) -> str:
    return " missing" if _missing(value) else ""


def shorten(text: object, limit: int) -> str:
    """At most `limit` characters of `text`, whitespace runs as one space, an ellipsis when
    cut (names from Airbnb can be any length)."""
    plain = " ".join(str(text).split())
    return plain if len(plain) <= limit else plain[:limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def moment(value: datetime | None) -> str:
    return DASH if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(rate=rate, count=count, decimal=decimal, signed_count=signed_count,
                       points=points, percent_change=percent_change, figure=figure,
                       change=change, direction=direction, moment=moment, shorten=shorten,
                       missing_class=lambda v: Markup(missing_class(v)),
                       missing_suffix=missing_suffix)
    return env


_ENV = environment()
INDEX_TEMPLATE = _ENV.get_template("index.html.j2")
ACCOUNT_TEMPLATE = _ENV.get_template("account.html.j2")
STYLE = (TEMPLATES / "style.css").read_text(encoding="utf-8")
