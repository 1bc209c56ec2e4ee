"""What the pages and the JSON API share over HTTP: the request type every view is annotated with
(django-htmx adds `request.htmx`), and a stored blob served as a download."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import FileResponse, HttpRequest
from django_htmx.middleware import HtmxDetails

from orchestrator.blobs import STATE_BLOB_TYPE, blob_get, is_blob_sha
from orchestrator.models import Blob


class Request(HttpRequest):
    user: AbstractBaseUser | AnonymousUser
    htmx: HtmxDetails


BIGINT_MAX = 2**63 - 1


def row_id(text: str) -> int | None:
    """A row id typed in a URL or a form (ASCII digits, within a bigint), or None for anything else:
    str.isdigit() takes "²" for a digit, which int() refuses, and a number past a bigint is no row's
    id (both were 500s)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    number = int(text)
    return number if number <= BIGINT_MAX else None


class BlobNotFound(LookupError):
    """No blob by that name, or its bytes are gone from storage (the page answers 404, the API too)."""


def blob_attachment(sha: str) -> FileResponse:
    """A blob's bytes as a download, for the checkpoint page's link and `GET /api/blobs/{sha}`."""
    # Only a sha256 names a blob: anything else (a NUL, which PostgreSQL refuses in a query, was a 500)
    # is not looked up.
    blob = Blob.objects.filter(sha256=sha).first() if is_blob_sha(sha) else None
    if blob is None:
        raise BlobNotFound(f"no blob {sha[:64]!r}: use the sha256 of a state value's {{\"$blob\": …}} pointer.")
    try:
        data = blob_get(sha)
    except OSError:
        raise BlobNotFound(f"blob {sha} is recorded but its bytes are missing from storage "
                           "(erased, or the blob store lost them).") from None
    ext = "json" if blob.content_type in ("application/json", STATE_BLOB_TYPE) else "bin"
    # Served as an attachment with its type pinned: blob bytes are never rendered as a page.
    response = FileResponse(iter([data]), content_type="application/octet-stream", as_attachment=True,
                            filename=f"{sha[:16]}.{ext}")
    response["X-Content-Type-Options"] = "nosniff"
    return response
