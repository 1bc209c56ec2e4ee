"""How the JSON API refuses a request, in one shape: every 400 and 422 is `{"detail", "fields"}`, the
detail a sentence saying what to change, `fields` each key path at fault and what is wrong with it
(a query parameter's path starts with "?"; `{}` when no one field is at fault).

And the query parameters an endpoint does not take, refused like a body key it does not take: ninja
dropped them without a word, so `GET /api/runs/{id}/state?stp=1` answered the latest state as if no step
had been asked for, and `?step=1&step=2` answered step 2.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.params.models import ParamModel
from pydantic import AfterValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from orchestrator.value_errors import problems_line


def not_accepted(fields: dict[str, str]) -> str:
    """The detail of a 422 naming the fields at fault: "the request was not accepted: ?step: must be at
    least 0. Correct it and send it again; nothing was done." """
    return f"the request was not accepted: {problems_line(fields)}. Correct it and send it again; nothing was done."


class Refused(HttpError):
    """An HttpError answered as `{"detail", "fields"}` (orchestrator.api), with each field at fault and what
    is wrong with it, as a body the schema refuses and a refused fork are."""

    def __init__(self, status_code: int, message: str, fields: dict[str, str]) -> None:
        super().__init__(status_code, message)
        self.fields = fields


def refused_fields(fields: dict[str, str]) -> Refused:
    """The 422 for `fields`, worded as the API words a body or query its schema refuses."""
    return Refused(422, not_accepted(fields), fields)


def limit_param(*, most: int, default: int) -> Any:
    """The type of an endpoint's `?limit=` (rows per page): a whole number from 1 to `most`, refused
    naming that range whichever end it is past (`default` is what leaving it out gives), beside any
    other parameter the same request gets wrong."""

    def within(value: int) -> int:
        if not 1 <= value <= most:
            raise PydanticCustomError("limit_range", f"must be from 1 to {most}; leave it out for {default}")
        return value

    return Annotated[int, AfterValidator(within),
                     WithJsonSchema({"type": "integer", "minimum": 1, "maximum": most, "default": default})]


class _QueryNames(ParamModel):
    """Not a parameter: one more of an endpoint's parameter models, with no fields, which ninja resolves
    with the others after the role check (orchestrator.api_auth). A name the endpoint does not take, or
    one it takes once sent more than once, is a pydantic error beside those of the values it refuses,
    so one 422 names them all (`?form: is not a parameter…` beside `?from: is required`)."""

    __ninja_param_source__ = "query"
    __ninja_flatten_map_reverse__: ClassVar[dict[Any, Any]] = {}
    takes: ClassVar[tuple[str, ...]] = ()  # the names the endpoint takes, in its signature's order
    repeatable: ClassVar[frozenset[str]] = frozenset()  # those that take a list: ?id=1&id=2
    has_body: ClassVar[bool] = False

    @classmethod
    def get_request_data(cls, request: HttpRequest, api: Any, path_params: dict[str, Any]) -> None:
        return None  # resolve() reads the query's names itself

    @classmethod
    def resolve(cls, request: HttpRequest, api: Any, path_params: dict[str, Any]) -> _QueryNames:
        errors: list[Any] = []
        for name, values in request.GET.lists():
            if name not in cls.takes:
                errors.append({"type": PydanticCustomError("unknown_parameter", cls._unknown()), "loc": (name,),
                               "input": values[-1]})
            elif len(values) > 1 and name not in cls.repeatable:
                # QueryDict answers the last of them: ?step=1&step=2 read step 2 without a word.
                errors.append({"type": PydanticCustomError("repeated_parameter",
                                                           f"is sent {len(values)} times; send it once"),
                               "loc": (name,), "input": values})
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return cls()

    @classmethod
    def _unknown(cls) -> str:
        # A phrase to follow the parameter's name, as the schema's problems are ("?stp: is not …").
        if cls.takes:
            return f"is not a parameter of this endpoint; it takes {', '.join(cls.takes)}"
        if cls.has_body:
            return "is not a parameter of this endpoint, which takes none: send its fields in the JSON body"
        return "is not a parameter of this endpoint, which takes none"


class Refusal(Schema):
    """Every 400 and 422 (and a fork's 403 and 409): what to change, and {key path: what is wrong} ({} when
    no one field is at fault)."""

    detail: str
    fields: dict[str, str]


class Detail(Schema):
    """Every 401, 403, 404 and 409 (but a fork's): what happened and what to do."""

    detail: str


def with_refusals(router: Router) -> Router:
    """`router` with every endpoint refusing a query parameter it does not take (a 422 naming it and those
    it takes), or one it takes once sent more than once, and with the refusals every endpoint can answer
    documented in the OpenAPI schema: 400 and 422 (a Refusal), 401 and 403 (the credentials, then the
    role, checked first), and 404 where the path names a run, an item or a blob. Call it before the
    router is added to the API: ninja reads an endpoint's parameter and response models when it binds
    the router to the API."""
    for path, path_view in router.path_operations.items():
        for operation in path_view.operations:
            refusals = {400: Refusal, 422: Refusal, 401: Detail, 403: Detail, **({404: Detail} if "{" in path else {})}
            for status, model in refusals.items():
                operation.response_models.setdefault(status, operation._create_response_model(model))
            models = [m for m in operation.models if not issubclass(m, _QueryNames)]
            query = [m for m in models if m.__ninja_param_source__ == "query"]
            checker = type("QueryNames", (_QueryNames,), {
                "__module__": __name__,
                "takes": tuple(name for m in query for name in m.__ninja_flatten_map__),
                "repeatable": frozenset(name for m in query for name in getattr(m, "__ninja_collection_fields__", ())),
                "has_body": any(m.__ninja_param_source__ == "body" for m in models),
            })
            operation.models = [*models, checker]
    return router
