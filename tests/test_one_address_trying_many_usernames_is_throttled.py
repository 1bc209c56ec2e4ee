"""Sign-in was throttled per (username, address) only: one address trying a list of leaked username and
password pairs (credential stuffing), a few tries per username, was never paused. Failed sign-ins from one
address, whatever the usernames, now pause that address too (GATEHOUSE_LOGIN_ADDRESS_FAILURES, higher than
the per-pair GATEHOUSE_LOGIN_FAILURES, so an office behind one address is not paused by a few typos), with
the same page saying why and what an administrator can do; other addresses are not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD


def _sign_in(username: str, password: str, address: str = "10.0.0.1", **headers):
    return Client(REMOTE_ADDR=address, **headers).post("/login/", {"username": username, "password": password})


@pytest.fixture
def limits(settings) -> None:
    settings.GATEHOUSE_LOGIN_FAILURES, settings.GATEHOUSE_LOGIN_ADDRESS_FAILURES = 3, 8
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def test_failures_for_many_usernames_pause_the_address(limits, reviewer_user, reviewer2_user):
    for n in range(7):  # two tries each for four usernames, none reaching the per-pair 3
        assert _sign_in(f"user{n // 2}", "guess").status_code == 200, n

    paused = _sign_in("user9", "guess")
    page = paused.content.decode()
    assert paused.status_code == 429
    assert "Too many failed sign-ins from this address (10.0.0.1), for several usernames" in page
    assert "signing in from it is paused for 15 minutes" in page
    assert "python manage.py axes_reset_ip 10.0.0.1" in page
    assert _sign_in("reviewer", PASSWORD).status_code == 429, "a right password from that address waits too"

    assert _sign_in("reviewer", PASSWORD, address="10.0.0.2").status_code == 302, "other addresses sign in"

    call_command("axes_reset_ip", "10.0.0.1", verbosity=0)  # what the page tells an admin to run
    assert _sign_in("reviewer2", PASSWORD).status_code == 302


def test_a_pair_is_still_paused_at_its_own_lower_limit(limits, reviewer_user):
    for _ in range(2):
        assert _sign_in("reviewer", "guess").status_code == 200
    paused = _sign_in("reviewer", "guess")
    assert paused.status_code == 429
    assert "Too many failed sign-ins for <strong>reviewer</strong> from this address" in paused.content.decode()


def test_behind_a_load_balancer_only_the_forwarded_client_s_address_is_paused(limits, settings, reviewer_user):
    settings.GATEHOUSE_TRUSTED_PROXIES = 1
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}  # every request reaches us from the balancer, 10.9.9.9
    for n in range(8):
        _sign_in(f"user{n}", "guess", address="10.9.9.9", **forwarded)

    assert _sign_in("reviewer", PASSWORD, address="10.9.9.9", **forwarded).status_code == 429
    assert _sign_in("reviewer", PASSWORD, address="10.9.9.9",
                    HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 302, "the colleague behind it is not"
