"""JSON API (django-ninja). OpenAPI schema at /api/schema, docs at /api/docs.

Authentication: `Authorization: Bearer <token>` (per-user tokens, `manage.py api_token USER`) or
the browser session (CSRF-checked). Every endpoint checks the caller's role like the pages do.
Apps add their own routers here (one line each).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from orchestrator.roles import section_required
from orchestrator.services import LARGE_INPUT_ADVICE
from orchestrator.tokens import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


_BEARER = BearerToken()


def _signed_in_or_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and docs list every endpoint: for a signed-in user or a client with a valid token
    whose role may use the API (the "api" section, which also puts "API docs" in their navigation),
    not for the internet (anyone else is sent to sign in)."""
    checked = section_required("api")(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _BEARER(request)  # the endpoints' own token check: a valid token signs its user in
        return checked(request, *args, **kwargs)

    return guarded


api = NinjaAPI(
    title="Gatehouse API",
    version="1",
    openapi_url="/schema",
    docs_url="/docs",
    auth=[_BEARER, SessionAuth()],
    docs_decorator=_signed_in_or_token,
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    # A role check deep in a service raises Django's PermissionDenied; ninja would answer it with a
    # 500 (a traceback under DEBUG). API clients get the 403 and its reason as JSON, like the pages.
    return api.create_response(request, {"detail": str(exc) or "your role may not do this."}, status=403)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": (
        f"the request body is over the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}-byte limit "
        f"(GATEHOUSE_MAX_INPUT_BYTES={settings.GATEHOUSE_MAX_INPUT_BYTES:,} plus room for the envelope); "
        f"nothing was done. Do not send large documents inline: {LARGE_INPUT_ADVICE}")}, status=413)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers a body it cannot parse with 400 "Cannot parse request body"; say what was wrong
    # and what to send instead (the parser's error is chained on it).
    if isinstance(exc.__cause__, (json.JSONDecodeError, UnicodeDecodeError)):
        return api.create_response(request, {"detail": (
            f"the request body is not valid JSON ({exc.__cause__}); nothing was done. Send one JSON object, "
            'e.g. {"workflow": "email_approval", "input": {"to": "a@example.com"}}.')}, status=400)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


from orchestrator.api_runs import router as runs_router  # noqa: E402  (routers import `api` helpers)

api.add_router("/runs", runs_router)
api.add_router("/items", "review.api.router")
api.add_router("/blobs", "orchestrator.api_blobs.router")
