"""Text from outside (a paste, Airbnb's answers, an argument) shown back to a person.

An id or a header value may hold a line break or a terminal escape: printed raw, it would
split the one line an error is, or clear the screen, retitle the window, fake a prompt.
Every error message goes through `escaped`, and values echoed in one through `shown`.
"""

from __future__ import annotations

SHOWN_LIMIT = 60


def escaped(text: str) -> str:
    """`text` with every character a terminal would act on (control and format characters,
    line separators, anything `str.isprintable` refuses) written as a Python escape
    (`\\n`, `\\x1b`, `\\u202e`); printable text, accents included, is left as it is."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def shown(value: str, limit: int = SHOWN_LIMIT) -> str:
    """A value echoed in a message: quoted, shortened to `limit` characters, escaped."""
    short = value if len(value) <= limit else value[:limit - 3] + "..."
    return repr(short)
