"""Request size: pages take forms of ordinary size; only the API may send a whole run input. The health
check, which answers before anything reads the Host header. And a broken workflow module, said on the
pages that need the workflows."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from orchestrator.registry import WorkflowModuleError
from orchestrator.roles import user_has_role

logger = logging.getLogger(__name__)


class FormSizeLimit:
    """Refuse a page request whose body is over GATEHOUSE_FORM_MAX_BYTES, before anything reads it.

    DATA_UPLOAD_MAX_MEMORY_SIZE has to admit an API request carrying a run input of up to
    GATEHOUSE_MAX_INPUT_BYTES (16 MB by default); without this, every form, the login page
    included, would accept bodies that large too. The refusal is Django's own (a 400 page that says
    why, config.views.bad_request). The start page, whose form carries a run input, takes what the API takes,
    from the roles that may start runs. Placed after the session and authentication middleware to know
    who sends (neither reads the body; the first to read it is the CSRF check, in process_view).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/"):  # path_info: the same under a URL prefix
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.GATEHOUSE_FORM_MAX_BYTES and not _takes_a_run_input(request):
                raise RequestDataTooBig("request body exceeded GATEHOUSE_FORM_MAX_BYTES")
        return self.get_response(request)


def _takes_a_run_input(request: HttpRequest) -> bool:
    """The start page's form carries a run input, which may be as large as the API takes: Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE bounds its body as it bounds the API's, and run_start refuses an input over
    GATEHOUSE_MAX_INPUT_BYTES by name, with the form shown back as typed. Only from a user of the roles
    the view names (`takes_a_run_input`): anyone else would be refused by the view anyway, after the
    CSRF check had read their 16 MB. (Looked up only for a body over the form limit.)"""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    roles = getattr(match.func, "takes_a_run_input", ())
    return bool(roles) and user_has_role(request.user, *roles)


class HealthzAnyHost:
    """Answer GET /healthz whatever the Host header says: first in MIDDLEWARE, so it runs before anything
    calls request.get_host() (which refuses a host outside ALLOWED_HOSTS with a 400 and a logged traceback).
    A load balancer's probe names the instance by its address (http://10.0.0.5:8000/healthz), which is in
    no ALLOWED_HOSTS. It serves only that exact path, with the health view itself (database and Redis
    status, nothing else, and no host or URL built from the request); every other path goes on through
    the middleware and the host check as before."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from config.views import healthz  # the view module reads apps' models; middleware loads after them

        self.get_response = get_response
        self.healthz = healthz

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz":
            return self.healthz(request)
        return self.get_response(request)


class WorkflowModulesBroken:
    """A module in GATEHOUSE_WORKFLOWS that cannot be registered (a deploy with a misspelt module or a
    workflow mistake) is one line naming it on every page that needs the workflows: a 503, since the
    installation must be fixed, not the request, instead of a 500 and a traceback in the log. The
    commands and the workers say the same line (orchestrator.cli, orchestrator.executor); the API's
    handler is in orchestrator.api."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, WorkflowModuleError):
            return None
        logger.error("workflows cannot be loaded: %s", exception)
        return render(request, "503.html", {"reason": str(exception)}, status=503)
