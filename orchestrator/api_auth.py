"""Who may call an API endpoint: the credentials (a Bearer token or the CSRF-checked browser session),
then the caller's role, both before the endpoint reads its body or query.

ninja runs an operation's `auth` before it validates the request's parameters, so an endpoint declares
its roles there (`auth=for_roles(ENGINEER, ADMIN)`) rather than checking them first thing in its view:
by then a caller without the role had been answered 422 for a body or query the endpoint refused,
which told them its schema and sent them to fix a request they were not allowed to make.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from orchestrator.roles import role_require
from orchestrator.tokens import api_token_user


class _RoleChecked:
    """The role check both credentials run once they found the caller (PermissionDenied, answered 403)."""

    def __init__(self, roles: tuple[str, ...] = (), refusal: str = "") -> None:
        super().__init__()  # the credential class's own (HttpBearer, SessionAuth): next in the MRO
        self.roles, self.refusal = roles, refusal

    def _checked(self, user: Any) -> Any:
        if user and self.roles:
            role_require(user, *self.roles, refusal=self.refusal)
        return user


class BearerToken(_RoleChecked, HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return self._checked(user)


_CSRF_REFUSED = ("the CSRF check failed: a request signed in by the browser session must send the csrftoken "
                 "cookie's value in an X-CSRFToken header (a script or bot sends Authorization: Bearer <token> "
                 "instead); nothing was done.")


class BrowserSession(_RoleChecked, SessionAuth):
    """The signed-in browser session, CSRF-checked, for a request that has one. A request with neither a
    session nor a valid token is a 401 (sign in, or send a token) rather than the CSRF check's 403, which
    sent a bot whose token had expired looking for a role it lacked."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None  # no CSRF check: authenticate() finds no user either, and ninja answers the 401
        if request.method == "POST":
            # Read before the CSRF check parses a POST's form out of it: a multipart body the check read
            # first was gone for ninja's body check (a 500), instead of being refused as not JSON.
            request.body  # noqa: B018
        try:
            return super()._get_key(request)
        except HttpError:  # ninja's "CSRF check Failed", which said nothing about what to send
            raise HttpError(403, _CSRF_REFUSED) from None

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return self._checked(super().authenticate(request, key))


# Credentials only: the API's default, the schema and docs pages, and the JSON 404 for a path no
# endpoint has. Every endpoint names its roles with for_roles.
BEARER = BearerToken()
SIGNED_IN = [BEARER, BrowserSession()]


def for_roles(*roles: str, refusal: str = "") -> list[Any]:
    """An endpoint's `auth`: the caller's credentials, then one of `roles` (403 naming them, or saying
    `refusal`), before anything of the request is read."""
    return [BearerToken(roles, refusal), BrowserSession(roles, refusal)]
