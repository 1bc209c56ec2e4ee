"""JSON API (django-ninja). OpenAPI schema at /api/schema, docs at /api/docs.

Authentication: `Authorization: Bearer <token>` (per-user tokens, `manage.py api_token USER`) or
the browser session (CSRF-checked). Every endpoint checks the caller's role like the pages do, before
it reads the request (orchestrator.api_auth). Apps add their own routers here (one line each).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from orchestrator.api_auth import BEARER, SIGNED_IN
from orchestrator.registry import WorkflowModuleError
from orchestrator.roles import section_required
from orchestrator.services import LARGE_INPUT_ADVICE
from orchestrator.value_errors import key_path, problems_line, schema_problem


def _signed_in_or_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and docs list every endpoint: for a signed-in user or a client with a valid token
    whose role may use the API (the "api" section, which also puts "API docs" in their navigation),
    not for the internet (anyone else is sent to sign in)."""
    checked = section_required("api")(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        BEARER(request)  # the endpoints' own token check: a valid token signs its user in
        return checked(request, *args, **kwargs)

    return guarded


class BodyRefused(ValueError):
    """A request body refused before its fields are read (`status` is the answer's); the message says
    what to send instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_SEND_AN_OBJECT = "Send one JSON object with Content-Type: application/json; /api/docs lists each endpoint's fields."


class JsonObjectParser(Parser):
    """Every request body is one JSON object, sent as JSON. ninja's own parser reads any content type as
    JSON, and its schemas read a body that is an array, a string or null as an object without fields:
    `[]` sent to /cancel cancelled the run with every default."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        kind = request.content_type
        if kind and kind != "application/json" and not kind.endswith("+json"):  # none sent: read it as JSON
            raise BodyRefused(415, f"the request body is sent as {kind[:80]!r}, not as JSON; nothing was done. "
                                   f"{_SEND_AN_OBJECT}")
        try:
            data = json.loads(request.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BodyRefused(400, f"the request body is not valid JSON ({exc}); nothing was done. "
                                   f"{_SEND_AN_OBJECT}") from exc
        except RecursionError:
            raise BodyRefused(400, "the request body nests JSON too deeply to be read; nothing was done. "
                                   f"{_SEND_AN_OBJECT}") from None
        if not isinstance(data, dict):
            sent = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(type(data),
                                                                                                 "a number")
            raise BodyRefused(400, f"the request body is {sent}, not a JSON object; nothing was done. {_SEND_AN_OBJECT}")
        # UTF-8 JSON holds a NUL only as the escape \u0000 (the parser refuses a raw one); UTF-16 and UTF-32,
        # which json.loads reads too, have NUL bytes in every ASCII character, so they are always walked.
        where = _nul_at(data) if b"\\u0000" in request.body or b"\x00" in request.body else None
        if where is not None:
            # PostgreSQL stores no NUL in text or JSON: a label, a reason or an edit holding one was a 500.
            raise BodyRefused(422, f"{where}: text may not contain the NUL character (\\u0000); remove it and send "
                                   "the request again. Nothing was done.")
        return data


def _nul_at(data: dict[str, Any]) -> str | None:
    """The key path of a text in `data` (a value or a key) holding a NUL character, or None.
    Walked with a stack, not recursion: the body may nest as deeply as the JSON parser allows."""

    def path(link: tuple[Any, Any] | None) -> str:
        keys: list[int | str] = []
        while link is not None:
            link, key = link
            keys.append(key)
        return key_path(tuple(reversed(keys))) or "the body"

    stack: list[tuple[Any, tuple[Any, Any] | None]] = [(data, None)]  # (value, (parent's link, its key))
    while stack:
        value, link = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return path(link)
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return f"a key in {path(link)}"
                stack.append((item, (link, key)))
        elif isinstance(value, list):
            stack.extend((item, (link, index)) for index, item in enumerate(value))
    return None


api = NinjaAPI(
    title="Gatehouse API",
    version="1",
    openapi_url="/schema",
    docs_url="/docs",
    auth=SIGNED_IN,
    parser=JsonObjectParser(),
    docs_decorator=_signed_in_or_token,
    urls_namespace="api",
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # ninja's bare "Unauthorized" did not say what a client lacks or how to get it.
    response = api.create_response(request, {"detail": (
        "no valid credentials: send Authorization: Bearer <token>, or sign in. A token expires "
        "(GATEHOUSE_API_TOKEN_DAYS) and may be revoked; `python manage.py api_token USERNAME` makes a new one.")},
        status=401)
    response["WWW-Authenticate"] = 'Bearer realm="gatehouse"'
    return response


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


@api.exception_handler(ValidationError)
def _not_accepted(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # ninja answers a list of pydantic's errors located at ["body", "body", "labels", "a"]; clients get a
    # sentence like every other error, naming each key path as a run input's errors do, and the
    # {key path: problem} map a fork's refusal has.
    fields: dict[str, str] = {}
    for err in exc.errors:
        source, *loc = err["loc"]
        if source == "body":
            loc = loc[1:]  # past the view's parameter name
            if not loc:
                return api.create_response(request, {"detail": (
                    f"the request has no body; nothing was done. {_SEND_AN_OBJECT} Where every field is optional, "
                    "send {} for their defaults.")}, status=400)
        where = key_path(tuple(loc)) or "the body"
        problem = ("is not a field of this request; remove it, or check its spelling" if err["type"] == "extra_forbidden"
                   else schema_problem(err))  # pydantic's error, less the value ninja drops
        fields.setdefault(f"?{where}" if source == "query" else where, problem)
    return api.create_response(request, {
        "detail": f"the request was not accepted: {problems_line(fields)}. Correct it and send it again; nothing was done.",
        "fields": fields}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers a body its parser refused with 400 "Cannot parse request body"; the parser's
    # BodyRefused, chained on it, says what was wrong and what to send instead.
    if isinstance(exc.__cause__, BodyRefused):
        return api.create_response(request, {"detail": str(exc.__cause__)}, status=exc.__cause__.status)
    fields = getattr(exc, "fields", None)  # an api_runs.Refused: the fields at fault, as a 422 of the schema's
    body = {"detail": str(exc)} if fields is None else {"detail": str(exc), "fields": fields}
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(WorkflowModuleError)
def _workflows_broken(request: HttpRequest, exc: WorkflowModuleError) -> HttpResponse:
    # The installation's workflows cannot be loaded (config.middleware.WorkflowModulesBroken says the same
    # on the pages): 503, nothing was done, and the line names the module an operator must fix.
    return api.create_response(request, {"detail": (
        f"Gatehouse cannot load its workflows, so nothing was done: {exc}. An operator must fix "
        "GATEHOUSE_WORKFLOWS or the module and restart; try again then.")}, status=503)


def answered_in_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An endpoint's view whose 405, for a method the path does not take, is JSON naming the methods it
    takes, as every other API answer is (ninja's is the text "Method not allowed")."""

    @wraps(view)
    def answered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = ", ".join(sorted(response["Allow"].split(", ")))
        refused = api.create_response(request, {"detail": (
            f"{request.method} is not a method of {request.path[:300]}: it takes {allowed}; "
            "/api/docs lists each endpoint's methods.")}, status=405)
        refused["Allow"] = allowed
        return refused

    return answered


@csrf_exempt  # it changes nothing: a POST to no endpoint is told so, not refused as a forged form
def no_such_endpoint(request: HttpRequest) -> HttpResponse:
    """The answer for a path under /api/ that no endpoint has: JSON, not the site's HTML 404 page, and
    after the credentials check every endpoint makes, so it tells an anonymous caller nothing."""
    BEARER(request)
    if not request.user.is_authenticated:
        return _unauthenticated(request, AuthenticationError())
    return api.create_response(request, {"detail": (
        f"no API endpoint has the path {request.path[:300]}; /api/docs lists them (a run's is "
        "/api/runs/<thread id>, a review item's /api/items/<number>).")}, status=404)


from orchestrator.api_runs import router as runs_router  # noqa: E402  (routers import `api` helpers)

api.add_router("/runs", runs_router)
api.add_router("/items", "review.api.router")
api.add_router("/blobs", "orchestrator.api_blobs.router")
