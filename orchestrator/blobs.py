"""Content-addressed blob store: large payloads are written once and referenced by sha256.

The bytes go through Django's storage API (filesystem under the data dir by default, any
django-storages backend in production); a `Blob` row records size and type. Writing the same
content twice is a no-op, so a node re-run after a crash does not duplicate anything.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from orchestrator.models import Blob

BLOB_KEY = "$blob"


def _path(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


def blob_put(data: bytes, *, content_type: str = "application/octet-stream") -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    path = _path(sha)
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    Blob.objects.bulk_create(
        [Blob(sha256=sha, size=len(data), content_type=content_type)], ignore_conflicts=True
    )
    return {BLOB_KEY: sha, "size": len(data), "type": content_type}


@lru_cache(maxsize=256)
def blob_get(sha: str) -> bytes:
    """Blobs are immutable, so a small per-process cache is always correct."""
    with default_storage.open(_path(sha), "rb") as handle:
        return handle.read()


def is_blob_ref(value: Any) -> bool:
    return isinstance(value, dict) and BLOB_KEY in value and len(value) <= 3
