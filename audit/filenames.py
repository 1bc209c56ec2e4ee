"""Names of downloaded files: `<kind>-<scope>-<date>.<ext>`, e.g.
`ledger-email_approval-by-alice-2025-06-01.csv` or `chargeback-2025-05-department-2025-06-01.csv`:
what the file holds and the day it was made (UTC), in plain ASCII so that every browser saves it
under that name, on every file system."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime


def filename_part(text: str, fallback: str) -> str:
    """`text` as plain ASCII letters, digits, dots, dashes and underscores (accents dropped, the
    rest "_"); `fallback` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    safe = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", ascii_text)).strip("._-")
    return safe or fallback


def download_filename(kind: str, parts: Iterable[str], ext: str, *, scope_if_empty: str = "all",
                      today: date | None = None) -> str:
    """`parts` are already safe (filename_part, ISO dates); the scope is cut to a length every file
    system takes."""
    scope = "-".join(parts)[:120] or scope_if_empty
    return f"{kind}-{scope}-{(today or datetime.now(UTC).date()).isoformat()}.{ext}"
