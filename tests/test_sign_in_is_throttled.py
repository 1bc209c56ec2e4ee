"""Repeated failed sign-ins for one username from one address pause that pair (django-axes): the
right password is refused too until the pause ends, the page says why and what to do, and neither
another address nor another user is affected."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD


def _sign_in(username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_five_failures_pause_that_username_from_that_address(reviewer_user, reviewer2_user, settings):
    settings.GATEHOUSE_LOGIN_FAILURES, settings.AXES_COOLOFF_TIME = 5, timedelta(minutes=15)
    for _ in range(4):
        assert _sign_in("reviewer", "guess").status_code == 200  # the form again, "did not match"

    locked = _sign_in("reviewer", "guess")
    assert locked.status_code == 429 and "signing in is paused for 15 minutes" in locked.content.decode()
    assert _sign_in("reviewer", PASSWORD).status_code == 429  # the right password waits too

    assert _sign_in("reviewer", PASSWORD, address="10.0.0.2").status_code == 302  # not from elsewhere
    assert _sign_in("reviewer2", PASSWORD).status_code == 302  # nor a colleague

    admin_login = Client(REMOTE_ADDR="10.0.0.1").post("/admin/login/", {"username": "reviewer", "password": PASSWORD})
    assert admin_login.status_code == 429  # the admin's sign-in shares the pause

    call_command("axes_reset_username", "reviewer", verbosity=0)  # what the page tells an admin to run
    assert _sign_in("reviewer", PASSWORD).status_code == 302


def test_a_success_clears_earlier_failures(reviewer_user, settings):
    settings.GATEHOUSE_LOGIN_FAILURES = 3
    for _ in range(2):
        _sign_in("reviewer", "guess")
    assert _sign_in("reviewer", PASSWORD).status_code == 302
    for _ in range(2):
        assert _sign_in("reviewer", "guess").status_code == 200  # counting started again...
    assert _sign_in("reviewer", "guess").status_code == 429  # ...and reaches the limit afresh


def test_behind_a_load_balancer_the_forwarded_address_is_the_clients(reviewer_user, settings):
    # Every request comes from the balancer's address; the client is the one it forwarded.
    settings.GATEHOUSE_LOGIN_FAILURES, settings.GATEHOUSE_TRUSTED_PROXIES = 2, 1

    def via_balancer(client_address: str, password: str):
        return Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_address}").post(
            "/login/", {"username": "reviewer", "password": password})

    for _ in range(2):
        via_balancer("203.0.113.7", "guess")
    assert via_balancer("203.0.113.7", PASSWORD).status_code == 429  # the attacker's address is paused
    assert via_balancer("198.51.100.4", PASSWORD).status_code == 302  # the colleague's is not
