"""A request with neither a valid token nor a signed-in session is a 401 that says what to send, for
writes too. Before, the session's CSRF check ran first and answered a POST with a wrong, expired or
missing token 403 "CSRF check Failed" (the test client skips CSRF checks unless told, so only a real
client saw it): a bot whose token expired went looking for a role it lacked. A signed-in browser is
still CSRF-checked, and told what the check wants; its form post is refused as not JSON, not a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from orchestrator.models import ApiToken, Run, RunStatus
from orchestrator.tokens import api_token_create


def _expired(user) -> str:
    token = api_token_create(user=user, name="bot")
    ApiToken.objects.filter(prefix=token[:10]).update(expires_at=timezone.now() - timedelta(seconds=1))
    return token


def _suspended(run: Run) -> bool:
    return Run.objects.get(pk=run.pk).status == RunStatus.SUSPENDED


@pytest.mark.parametrize("credentials", ["none", "wrong", "expired"])
def test_a_write_without_valid_credentials_is_a_401_saying_what_to_send(waiting, engineer_user, credentials):
    token = {"none": None, "wrong": "gh_wrong", "expired": _expired(engineer_user)}[credentials]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    client = Client(enforce_csrf_checks=True, **headers)  # as a real client is checked

    response = client.post(f"/api/runs/{waiting.thread_id}/cancel", {}, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="gatehouse"'
    assert response.json()["detail"].startswith("no valid credentials: send Authorization: Bearer <token>, or sign in.")
    assert "`python manage.py api_token USERNAME` makes a new one" in response.json()["detail"]
    assert _suspended(waiting)


@pytest.fixture
def browser(engineer_user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer_user)
    client.get("/runs/")  # a page sets the CSRF cookie, as for the browser's own requests
    return client, client.cookies["csrftoken"].value


def test_a_signed_in_browser_write_without_the_csrf_header_is_told_what_to_send(waiting, browser):
    client, _token = browser

    response = client.post(f"/api/runs/{waiting.thread_id}/cancel", {}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "the CSRF check failed: a request signed in by the browser session must send the csrftoken cookie's value "
        "in an X-CSRFToken header (a script or bot sends Authorization: Bearer <token> instead); nothing was done.")
    assert _suspended(waiting)


def test_a_signed_in_browser_write_with_the_csrf_header_is_done(waiting, browser):
    client, token = browser

    response = client.post(f"/api/runs/{waiting.thread_id}/cancel", {}, content_type="application/json",
                           HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_a_signed_in_browser_form_post_is_refused_as_not_json(waiting, browser):
    client, token = browser

    response = client.post(f"/api/runs/{waiting.thread_id}/cancel", {"csrfmiddlewaretoken": token, "reason": "x"})

    assert response.status_code == 415 and "not as JSON" in response.json()["detail"]
    assert _suspended(waiting)
