"""Characters a person does not see where text is shown, so text from a model (or typed by anyone) can
look like something it is not: "ap@supp\\u200blier.example" reads as "ap@supplier.example", a U+202E
(right-to-left override) reorders the IBAN after it, and a browser drops a NUL without a trace.

One definition for every place that shows such text: `runs` escapes these characters for the
terminal (management/commands/runs.py), the web pages mark them (review.markdown.mark_hidden).
Line breaks and tabs are layout, seen as such, and are left alone.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

# Controls have no Unicode name (unicodedata.name raises); the ones worth naming, by their aliases.
_CONTROL_NAMES = {0x00: "NULL", 0x08: "BACKSPACE", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE",
                  0x85: "NEXT LINE", 0x9B: "CONTROL SEQUENCE INTRODUCER"}
_KINDS = {"Cc": "CONTROL CHARACTER", "Cs": "SURROGATE", "Co": "PRIVATE USE CHARACTER", "Cn": "UNASSIGNED CHARACTER"}


def is_hidden(char: str) -> bool:
    """Python's "not printable" (controls, format characters such as zero-width spaces and bidirectional
    controls, line and paragraph separators, unassigned code points), less the newline and the tab and
    the spaces other than U+0020 (a no-break or thin space is seen as a space: French typography and
    Django's own "3\u00a0hours" would be marked all over a page, and hide nothing)."""
    return not char.isprintable() and char not in "\n\t" and unicodedata.category(char) != "Zs"


def hidden_in(text: str) -> list[str]:
    """The hidden characters of `text`, each occurrence, in order."""
    return [c for c in text if is_hidden(c)] if not text.isprintable() else []


def char_code(char: str) -> str:
    return f"U+{ord(char):04X}"


def char_label(char: str) -> str:
    """"U+202E RIGHT-TO-LEFT OVERRIDE"; a control by its usual name, else by its kind."""
    code = ord(char)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(char, "") or _KINDS.get(unicodedata.category(char), "CHARACTER")
    return f"{char_code(char)} {name}"


def hidden_summary(chars: list[str], limit: int = 5) -> str:
    """"U+200B ZERO WIDTH SPACE ×2, U+202E RIGHT-TO-LEFT OVERRIDE": each kind once, in order of first
    appearance, with its count when more than one; kinds past `limit` as "and N more kinds"."""
    counts = Counter(chars)
    kinds = list(counts)
    parts = [char_label(c) + (f" ×{counts[c]}" if counts[c] > 1 else "") for c in kinds[:limit]]
    if len(kinds) > limit:
        parts.append(f"and {len(kinds) - limit} more kinds")
    return ", ".join(parts)
