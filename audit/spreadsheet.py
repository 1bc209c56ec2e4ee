"""CSV cells that a spreadsheet shows as text, whatever the text is."""

from __future__ import annotations

# Excel and LibreOffice run a cell that starts with one of these as a formula (CSV injection:
# =HYPERLINK(...) can send neighbouring cells to another site). A leading apostrophe makes them text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """`value` for a CSV cell that holds free text (a label, a thread id, a user name)."""
    return "'" + value if value[:1] in _FORMULA_STARTS else value
