"""JSON API (django-ninja): filled by the executor; OpenAPI schema at /api/schema."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Gatehouse API", version="1", openapi_url="/schema", docs_url="/docs")
