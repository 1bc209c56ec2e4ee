"""Content-addressed blob store: large payloads are written once and referenced by sha256.

The bytes go through Django's storage API (filesystem under the data dir by default, any
django-storages backend in production); a `Blob` row records size and type. Writing the same
content twice is a no-op, so a node re-run after a crash does not duplicate anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from functools import lru_cache
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from orchestrator.prepared import ASYNC_COMMIT, async_commit_param, execute_prepared

BLOB_KEY = "$blob"
# The type of the blobs the engine itself makes for state values too big to keep inline, so they are
# told apart from a node's own pointers (ctx.blobs.put): only these are read back as the value.
STATE_BLOB_TYPE = "application/vnd.gatehouse.state+json"
# What the engine wrote before it had its own type: still read back as values, so older runs
# resume, fork and show as they did.
_LEGACY_STATE_BLOB_TYPE = "application/json"


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_blob_sha(value: Any) -> bool:
    """A blob's name: its sha256 as 64 lowercase hex digits, the only text a pointer may name."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def _path(sha: str) -> str:
    # A pointer's name comes from state that people and model output can shape (run input, a node's
    # copy of an LLM's answer): anything but a sha256 ("ab/../..") must never become a file path,
    # or reading, showing or erasing it would reach another blob's file.
    if not is_blob_sha(sha):
        raise FileNotFoundError(f"{str(sha)[:80]!r} is not a blob name (a sha256: 64 lowercase hex digits)")
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
    try:
        local = default_storage.path(path)
    except NotImplementedError:
        local = None  # an object store (S3 & co.) acknowledges a write once it is durable
    if local is not None:
        _write_local_durably(local, data)
    elif not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    execute_prepared(_ROW, {"sha": sha, "size": len(data), "type": content_type, "async_commit": async_commit_param()})
    return {BLOB_KEY: sha, "size": len(data), "type": content_type}


def _write_local_durably(final: str, data: bytes) -> None:
    """A checkpoint that points at a blob is durable once committed, so the blob must be durable
    before that: Django's FileSystemStorage neither fsyncs nor writes atomically (a reader could see
    a half-written file under the final name). So: write a temporary file beside it, fsync it,
    rename it into place, and fsync every directory whose entries changed. A file already there
    was put there the same way (complete); its directory is fsynced again, since the writer that
    renamed it may not have got that far yet."""
    directory = os.path.dirname(final)
    _makedirs_durably(directory)
    if not os.path.exists(final):
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, final)  # same content under the same name: a racing writer is harmless
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    _fsync_directory(directory)


def _makedirs_durably(directory: str) -> None:
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(created)
        _fsync_directory(os.path.dirname(created))  # the new entry lives in its parent


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=256)
def blob_get(sha: str) -> bytes:
    """Blobs are immutable, so a small per-process cache is always correct."""
    with default_storage.open(_path(sha), "rb") as handle:
        return handle.read()


def is_blob_ref(value: Any) -> bool:
    """A well-formed pointer, as blob_put makes them: a sha256, a size, a content type. Anything else
    with a `$blob` key is only an object (shown and diffed as one, never opened)."""
    if not (isinstance(value, dict) and len(value) <= 3 and is_blob_sha(value.get(BLOB_KEY))):
        return False
    size, kind = value.get("size", 0), value.get("type", "")
    return type(size) is int and size >= 0 and isinstance(kind, str)


def is_state_blob(value: Any) -> bool:
    """A pointer the engine made for a state value (read back as the value), not a node's own."""
    return is_blob_ref(value) and value.get("type") in (STATE_BLOB_TYPE, _LEGACY_STATE_BLOB_TYPE)
