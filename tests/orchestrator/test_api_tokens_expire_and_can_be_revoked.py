"""API tokens stop working when they expire or are revoked, at once; the CLI creates, lists and
revokes them, and a token is shown only when it is created."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from orchestrator.models import ApiToken
from orchestrator.tokens import api_token_create


def _get(token: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/runs/no-such-run").status_code


def _cli(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_a_token_works_until_it_expires(db, engineer_user, settings):
    settings.GATEHOUSE_API_TOKEN_DAYS = 30
    token = api_token_create(user=engineer_user, name="bot")
    row = ApiToken.objects.get(prefix=token[:10])
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)
    assert _get(token) == 404  # authenticated: the run is what is missing

    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _get(token) == 401


def test_a_revoked_token_is_refused_at_once_and_others_keep_working(db, engineer_user):
    first, second = api_token_create(user=engineer_user, name="ci"), api_token_create(user=engineer_user, name="bot")

    assert "revoked 1 token of engineer" in _cli("engineer", "--revoke", first[:10])

    assert _get(first) == 401 and _get(second) == 404
    listing = _cli("engineer", "--list")
    assert f"{first[:10]}…  ci" in listing and "revoked" in listing
    assert f"{second[:10]}…  bot" in listing and "expires" in listing
    assert first not in listing and second not in listing  # tokens are shown once, at creation


def test_the_cli_creates_a_token_that_never_expires_on_request_and_revokes_all(db, engineer_user):
    token = _cli("engineer", "--name", "forever", "--days", "0").strip()
    assert token.startswith("gh_") and ApiToken.objects.get(prefix=token[:10]).expires_at is None
    assert "never expires" in _cli("engineer", "--list")

    assert "revoked 1 token" in _cli("engineer", "--revoke-all")
    assert _get(token) == 401
    with pytest.raises(CommandError, match="has no usable token"):
        _cli("engineer", "--revoke-all")
    with pytest.raises(CommandError, match="10-character prefix"):
        _cli("engineer", "--revoke", "gh_")  # would match every token
    with pytest.raises(CommandError, match="10-character prefix"):
        _cli("engineer", "--revoke", "")  # never falls through to creating a token
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()


def test_revoking_by_the_whole_token_works_and_never_echoes_it(db, engineer_user):
    token = api_token_create(user=engineer_user, name="ci")
    assert "revoked 1 token" in _cli("engineer", "--revoke", token)
    with pytest.raises(CommandError) as refused:
        _cli("engineer", "--revoke", token)  # already revoked
    assert token not in str(refused.value) and token[:10] in str(refused.value)
