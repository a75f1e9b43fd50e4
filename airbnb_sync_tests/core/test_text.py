"""What is shown back of outside text: nothing a terminal would act on."""

from __future__ import annotations

from airbnb_sync.core.text import escaped, shown


def test_every_unprintable_character_is_escaped_and_printable_text_is_kept() -> None:
    assert escaped("Chalet Müller ☃") == "Chalet Müller ☃"
    assert escaped("1\n\x1b[2J\u202e\x07") == "1\\n\\x1b[2J\\u202e\\x07"
    unprintable = [chr(code) for code in range(0x110000) if not chr(code).isprintable()]
    assert all(escaped(char).isprintable() for char in unprintable)


def test_shown_quotes_shortens_and_escapes() -> None:
    assert shown("12\n") == "'12\\n'"
    assert len(shown("x" * 500)) == 62 and shown("x" * 500).endswith("...'")
