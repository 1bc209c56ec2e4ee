"""/api/blobs: a state value's blob bytes, for a client holding its {"$blob": sha256} pointer."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from orchestrator.api_auth import for_roles
from orchestrator.api_refusals import Detail
from orchestrator.http import BlobNotFound, blob_attachment
from orchestrator.roles import ADMIN, ENGINEER

router = Router(tags=["blobs"])


@router.get("/{sha}", response={404: Detail}, auth=for_roles(ENGINEER, ADMIN))
def blob(request: HttpRequest, sha: str):
    """The bytes of a blob named by a state value's pointer (`GET /api/runs/{id}/state` returns
    pointers for values above GATEHOUSE_BLOB_THRESHOLD), as an `application/octet-stream` download:
    engineers and admins, as the checkpoint page's download link; anyone else gets the same 403 whether
    the blob exists or not."""
    try:
        return blob_attachment(sha)
    except BlobNotFound as exc:
        raise HttpError(404, str(exc)) from None
