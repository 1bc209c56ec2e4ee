"""JSON API (django-ninja). OpenAPI schema at /api/schema, docs at /api/docs.

Authentication: `Authorization: Bearer <token>` (per-user tokens, `manage.py api_token USER`) or
the browser session (CSRF-checked). Every endpoint checks the caller's role like the pages do.
Apps add their own routers here (one line each).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, SessionAuth

from orchestrator.tokens import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Gatehouse API",
    version="1",
    openapi_url="/schema",
    docs_url="/docs",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
)

from orchestrator.api_runs import router as runs_router  # noqa: E402  (routers import `api` helpers)

api.add_router("/runs", runs_router)
api.add_router("/items", "review.api.router")
