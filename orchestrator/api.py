"""JSON API (django-ninja). OpenAPI schema at /api/schema, docs at /api/docs.

Authentication: `Authorization: Bearer <token>` (per-user tokens, `manage.py api_token USER`) or
the browser session (CSRF-checked). Every endpoint checks the caller's role like the pages do, before
it reads the request (orchestrator.api_auth). Apps add their own routers here (one line each).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from orchestrator.api_auth import BEARER, SIGNED_IN
from orchestrator.api_blobs import router as blobs_router
from orchestrator.api_refusals import not_accepted, with_refusals
from orchestrator.api_runs import router as runs_router
from orchestrator.registry import WorkflowModuleError
from orchestrator.roles import section_required
from orchestrator.services import LARGE_INPUT_ADVICE
from orchestrator.value_errors import HALF_A_PAIR, has_lone_surrogate, has_nul, key_path, schema_problem
from review.api import router as items_router


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
    what to send instead, `fields` the key paths at fault ({} when the body as a whole is)."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.fields = status, fields or {}


_SEND_AN_OBJECT = "Send one JSON object with Content-Type: application/json; /api/docs lists each endpoint's fields."
_DIGITS_MAX = 4300  # Python's own limit on reading a whole number (sys.get_int_max_str_digits)


class JsonObjectParser(Parser):
    """Every request body is one JSON object, sent as JSON. ninja's own parser reads any content type as
    JSON, and its schemas read a body that is an array, a string or null as an object without fields:
    `[]` sent to /cancel cancelled the run with every default.

    What JSON can say but a field cannot hold is refused naming its key path (422), where it was read
    silently or failed later: a key sent twice in one object (Python keeps the last, so
    `{"decision": "reject", "decision": "approve"}` approved), NaN, Infinity or a number beyond a
    double's range (Python reads them as floats no JSON can write back), and text holding a NUL."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        kind = request.content_type
        if kind and kind != "application/json" and not kind.endswith("+json"):  # none sent: read it as JSON
            raise BodyRefused(415, f"the request body is sent as {kind[:80]!r}, not as JSON; nothing was done. "
                                   f"{_SEND_AN_OBJECT}")
        reading = _Reading()
        try:
            data = json.loads(request.body, object_pairs_hook=reading.object, parse_float=reading.number,
                              parse_constant=reading.constant, parse_int=_whole)
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
        if (reading.odd or b"\\u0000" in request.body or b"\x00" in request.body
                or _MAY_HOLD_A_SURROGATE.search(request.body)):
            fields = _refused_at(data, reading.repeated)
            if fields:
                raise BodyRefused(422, not_accepted(fields), fields)
        return data


class _Reading:
    """What json.loads met while reading one body that a field cannot hold, for _refused_at to name."""

    def __init__(self) -> None:
        # id(object) → (the object, kept so that its id is not another's, {key sent more than once: times})
        self.repeated: dict[int, tuple[dict[str, Any], dict[str, int]]] = {}
        self.odd = False  # a repeated key or a number that is not finite: walk the body for its path

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            keys = [key for key, _ in pairs]
            self.repeated[id(obj)] = (obj, {key: keys.count(key) for key in obj if keys.count(key) > 1})
            self.odd = True
        return obj

    def number(self, text: str) -> float:
        value = float(text)
        self.odd = self.odd or not math.isfinite(value)
        return value

    def constant(self, name: str) -> float:  # NaN, Infinity, -Infinity: not JSON, which Python reads anyway
        self.odd = True
        return float(name)


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > _DIGITS_MAX:
        raise BodyRefused(400, f"the request body holds a whole number of {len(text):,} digits, more than can be "
                               f"read ({_DIGITS_MAX:,}); no field takes one so large. Nothing was done.")
    return int(text)


_FIELDS_NAMED = 10  # key paths a refusal names at most: a body may hold a million of one mistake
# A lone surrogate (half of a UTF-16 pair, not a character) reaches the body's text through a JSON escape
# (\ud800) or UTF-8 bytes json.loads decodes with "surrogatepass" (ED A0 80); PostgreSQL refuses it in text
# and JSON, and Python cannot encode it as UTF-8 (a label holding one was a 500). A body with neither is not
# walked for one; one with a valid pair (an emoji escaped as \ud83d\ude00) is, and passes.
_MAY_HOLD_A_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")
_NOT_UNICODE = (f"{HALF_A_PAIR}; send whole "
                "characters, in UTF-8 or as a \\uXXXX\\uXXXX pair")


def _refused_at(data: dict[str, Any], repeated: dict[int, tuple[dict[str, Any], dict[str, int]]]) -> dict[str, str]:
    """{key path: what is wrong} for what in `data` no field can hold: text or a key holding a NUL character,
    a number that is not finite, a key sent more than once in its object (`repeated`, by the object's id).
    Walked with a stack, not recursion: the body may nest as deeply as the JSON parser allows."""

    def path(link: tuple[Any, Any] | None) -> str:
        keys: list[int | str] = []
        while link is not None:
            link, key = link
            keys.append(key)
        return key_path(tuple(reversed(keys))) or "the body"

    fields: dict[str, str] = {}
    stack: list[tuple[Any, tuple[Any, Any] | None]] = [(data, None)]  # (value, (parent's link, its key))
    while stack and len(fields) < _FIELDS_NAMED:
        value, link = stack.pop()
        if isinstance(value, str) and has_nul(value):
            # PostgreSQL stores no NUL in text or JSON: a label, a reason or an edit holding one was a 500.
            fields[path(link)] = "text may not contain the NUL character (\\u0000); remove it"
        elif isinstance(value, str) and has_lone_surrogate(value):
            fields[path(link)] = f"text {_NOT_UNICODE}"
        elif isinstance(value, float) and not math.isfinite(value):
            fields[path(link)] = ("must be a finite number: NaN, Infinity and numbers beyond ±1.8e308 are not JSON "
                                  "values a field can hold")
        elif isinstance(value, dict):
            for key, times in repeated.get(id(value), (value, {}))[1].items():
                fields[path((link, key))] = f"is sent {times} times in one object; send it once"
            if any(has_nul(key) for key in value):
                fields[path(link)] = "has a key holding the NUL character (\\u0000); remove it"
            elif any(has_lone_surrogate(key) for key in value):
                fields[path(link)] = f"has a key that {_NOT_UNICODE}"
            stack.extend((item, (link, key)) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, (link, index)) for index, item in reversed(list(enumerate(value))))
    return fields


_DESCRIPTION = """\
Authenticate with `Authorization: Bearer <token>` (`python manage.py api_token USERNAME`) or the browser
session. Send bodies as one JSON object with `Content-Type: application/json`.

**Refusals** are JSON. Every 400 and 422 is `{"detail": "...", "fields": {...}}`: `detail` says what to
change; `fields` maps each key path at fault to what is wrong with it (`"labels.customer"`,
`"input.topic"`; a query parameter's starts with `?`, as `"?step"`), and is `{}` when no one field is at
fault (a body that is not JSON). Other errors are `{"detail": "..."}`: 401, 403, 404 naming what was not
found, 405 naming the methods the path takes (and an `Allow` header), 409, 410, 413, 415.

**Nothing sent is ignored**: a body key, or a query parameter, that the endpoint does not take is a 422
naming it (and the parameters the endpoint takes); so is a query parameter sent twice (`?step=1&step=2`),
a key sent twice in one JSON object, NaN, Infinity or a number beyond a double's range, and text holding a
NUL character. A text a decision does not use (`"edits"` beside `"decision": "approve"`) is refused too.
"""

api = NinjaAPI(
    title="Gatehouse API",
    version="1",
    description=_DESCRIPTION,
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


@api.exception_handler(TooManyFieldsSent)
def _too_many_fields(request: HttpRequest, exc: TooManyFieldsSent) -> HttpResponse:
    # Django's SuspiciousOperation, answered with the site's HTML 400 page ("malformed"), not the API's JSON.
    return api.create_response(request, {"detail": (
        f"the request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} query parameters (or form fields); "
        "nothing was done. Send only the parameters /api/docs lists for this endpoint, and the fields in a JSON "
        "body."), "fields": {}}, status=400)


@api.exception_handler(ValidationError)
def _not_accepted(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # ninja answers a list of pydantic's errors located at ["body", "body", "labels", "a"]; clients get a
    # sentence like every other error, naming each key path as a run input's errors do, and the
    # {key path: problem} map a fork's refusal has. A query parameter the endpoint does not take is one
    # of them (orchestrator.api_refusals), its problem already a phrase for people.
    fields: dict[str, str] = {}
    for err in exc.errors:
        source, *loc = err["loc"]
        if source == "body":
            loc = loc[1:]  # past the view's parameter name
            if not loc:
                return api.create_response(request, {"detail": (
                    f"the request has no body; nothing was done. {_SEND_AN_OBJECT} Where every field is optional, "
                    "send {} for their defaults."), "fields": {}}, status=400)
        where = key_path(tuple(loc)) or "the body"
        problem = ("is not a field of this request; remove it, or check its spelling" if err["type"] == "extra_forbidden"
                   else schema_problem(err))  # pydantic's error, less the value ninja drops
        fields.setdefault(f"?{where}" if source == "query" else where, problem)
    return api.create_response(request, {"detail": not_accepted(fields), "fields": fields}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers a body its parser refused with 400 "Cannot parse request body"; the parser's
    # BodyRefused, chained on it, says what was wrong and what to send instead.
    refused = exc.__cause__ if isinstance(exc.__cause__, BodyRefused) else None
    status = refused.status if refused else exc.status_code
    body = {"detail": str(refused or exc)}
    # The fields at fault (a BodyRefused's, an api_refusals.Refused's); every 400 and 422 has them, {} when
    # no one field is at fault, so a client reads one shape.
    fields = refused.fields if refused else getattr(exc, "fields", None)
    if fields is not None or status in (400, 422):
        body["fields"] = fields or {}
    return api.create_response(request, body, status=status)


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


# Each router's endpoints refuse a query parameter they do not take, and document their refusals.
api.add_router("/runs", with_refusals(runs_router))
api.add_router("/items", with_refusals(items_router))
api.add_router("/blobs", with_refusals(blobs_router))
