"""The words of a PDF report, as a reader would search them: pypdf's text extraction with runs of
whitespace made single spaces (line and column breaks fall where the layout put them)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())
