"""A blob is complete and on disk under its final name before any checkpoint can point at it.

Django's FileSystemStorage writes in place and never fsyncs; a power cut after the checkpoint's
durable commit could then leave a state whose large value is missing or cut short.
"""

from __future__ import annotations

import hashlib
import os

from django.core.files.storage import default_storage

from orchestrator.blobs import blob_get, blob_put
from orchestrator.models import Blob


def test_a_blob_is_written_whole_under_its_hash_with_no_temporary_file_left(db, monkeypatch):
    events: list[tuple[str, str]] = []  # ("fsync", path) and ("replace", final path), in order
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda src, dst: (events.append(("replace", dst)), real_replace(src, dst)))
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    final = default_storage.path(f"{sha[:2]}/{sha[2:4]}/{sha}")
    leaf = os.path.dirname(final)
    leaf_existed = os.path.isdir(leaf)
    ref = blob_put(data, content_type="application/octet-stream")
    synced = [path for kind, path in events if kind == "fsync"]

    assert ref["$blob"] == sha and ref["size"] == len(data)
    with open(final, "rb") as handle:
        assert handle.read() == data
    assert not [name for name in os.listdir(os.path.dirname(final)) if name.startswith(".incoming-")]
    # The bytes (under their temporary name), the directory entry, and any directory just created.
    assert any(".incoming-" in path for path in synced)
    assert os.path.dirname(final) in synced
    # In that order: the bytes before the rename, the directory holding the new name after it.
    renamed = events.index(("replace", final))
    assert min(i for i, (kind, path) in enumerate(events) if kind == "fsync" and ".incoming-" in path) < renamed
    assert max(i for i, event in enumerate(events) if event == ("fsync", leaf)) > renamed
    if not leaf_existed:
        assert ("fsync", os.path.dirname(leaf)) in events, "a directory just created is synced in its parent"
    assert Blob.objects.get(sha256=sha).size == len(data)
    assert blob_get(sha) == data


def test_putting_the_same_content_again_keeps_one_file(db):
    data = b"the same large value" * 5000
    first, second = blob_put(data), blob_put(data)
    assert first == second
    sha = first["$blob"]
    directory = os.path.dirname(default_storage.path(f"{sha[:2]}/{sha[2:4]}/{sha}"))
    assert [name for name in os.listdir(directory) if name.startswith(sha)] == [sha]
    assert Blob.objects.filter(sha256=sha).count() == 1
