"""The views that belong to no app: the role-aware start page, the health check, and the 400 page."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from orchestrator.http import Request
from orchestrator.roles import SECTIONS, user_start_section


@login_required
def home(request: Request) -> HttpResponse:
    """Send each user to their role's start section (reviewers to the inbox, engineers to runs, ...)."""
    section = user_start_section(request.user)
    if section is not None:
        return redirect(SECTIONS[section][1])
    raise PermissionDenied("Your account has no role yet: ask an administrator to add you to a group.")


@require_GET
def favicon(request: Request) -> HttpResponse:
    """Pages name their icon (base.html); browsers still ask for /favicon.ico where a page names none
    (the admin site, a downloaded report opened in a tab), and a 404 there is noise in every console."""
    return redirect(static("favicon.ico"), permanent=True)


def _check_db() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is "not ok"; the class name is enough to act on
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@never_cache
@require_safe  # GET, and HEAD for the load balancers that probe with it
def healthz(request: Request) -> JsonResponse:
    checks = {"db": _check_db(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def bad_request(request: Request, exception: Exception) -> HttpResponse:
    """Django's 400 page says nothing; this one says what was wrong when it is the size of the form."""
    reason = ""
    if isinstance(exception, RequestDataTooBig):
        reason = (f"What you sent is larger than the {filesizeformat(settings.GATEHOUSE_FORM_MAX_BYTES)} "
                  "a request may carry, so nothing was saved. Go back (your browser keeps what you typed), "
                  "shorten it, or store a large document as a blob and refer to it.")
    return render(request, "400.html", {"reason": reason}, status=400)
