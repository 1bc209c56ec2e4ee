"""How many failed sign-ins django-axes allows before it pauses signing in (AXES_FAILURE_LIMIT).

Axes counts the failures of one (username, address) pair: GATEHOUSE_LOGIN_FAILURES of them pause that
pair. That alone never pauses one address trying a list of leaked credentials a few times per username
(credential stuffing), so the failures from the address, whatever the usernames, are counted too: at
GATEHOUSE_LOGIN_ADDRESS_FAILURES (higher, so an office behind one address is not paused by a few typos)
the address is paused as well. Axes takes one limit, compared with the pair's failures wherever it
decides (before checking a password, and after a failure); an address over its own limit gets 0 as the
pair's, which every count reaches. The address is the client's as axes sees it (config.client_ip).
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's address within the cool-off, for every username (the pairs'
    rows, as axes keeps and expires them)."""
    recent = AccessAttempt.objects.filter(ip_address=request.axes_ip_address,
                                          attempt_time__gte=get_cool_off_threshold(request))
    return recent.aggregate(failures=Sum("failures_since_start"))["failures"] or 0


def failure_limit(request: HttpRequest, credentials: dict | None = None) -> int:
    """The pair's limit, or 0 once the address has used up its own; marks the request so the paused
    page says which (registration/locked_out.html)."""
    request.sign_in_paused_address = address_failures(request) >= settings.GATEHOUSE_LOGIN_ADDRESS_FAILURES
    return 0 if request.sign_in_paused_address else settings.GATEHOUSE_LOGIN_FAILURES
