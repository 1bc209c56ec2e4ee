"""Content-addressed blob store: large payloads are written once and referenced by sha256.

The bytes go through Django's storage API (filesystem under the data dir by default, any
django-storages backend in production); a `Blob` row records size and type. Writing the same
content twice is a no-op, so a node re-run after a crash does not duplicate anything.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from orchestrator.prepared import ASYNC_COMMIT, async_commit_param, execute_prepared

BLOB_KEY = "$blob"


def _path(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


# The row only describes the bytes; async commit is enough because whatever references the blob (a
# step's checkpoint) commits durably after it, and that flush covers this earlier WAL too.
_ROW = f"""
INSERT INTO orchestrator_blob (sha256, size, content_type, created_at)
SELECT %(sha)s, %(size)s, %(type)s, statement_timestamp() WHERE {ASYNC_COMMIT}
ON CONFLICT (sha256) DO NOTHING
"""


def blob_put(data: bytes, *, content_type: str = "application/octet-stream") -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    path = _path(sha)
    if not default_storage.exists(path):
        saved = default_storage.save(path, ContentFile(data))
        _make_durable(saved)
    execute_prepared(_ROW, {"sha": sha, "size": len(data), "type": content_type, "async_commit": async_commit_param()})
    return {BLOB_KEY: sha, "size": len(data), "type": content_type}


def _make_durable(name: str) -> None:
    """A checkpoint that points at a blob is durable once committed, so the blob must be too:
    Django's FileSystemStorage does not fsync, so flush the file and its directory here. (Object
    stores such as S3 acknowledge a write only once it is durable; they have no local path.)"""
    try:
        local = default_storage.path(name)
    except NotImplementedError:
        return
    fd = os.open(local, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(os.path.dirname(local), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@lru_cache(maxsize=256)
def blob_get(sha: str) -> bytes:
    """Blobs are immutable, so a small per-process cache is always correct."""
    with default_storage.open(_path(sha), "rb") as handle:
        return handle.read()


def is_blob_ref(value: Any) -> bool:
    return isinstance(value, dict) and BLOB_KEY in value and len(value) <= 3
