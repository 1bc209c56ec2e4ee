"""`manage.py demo_users` gives every role a login, and running it again changes nothing."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("GATEHOUSE_DEMO_PASSWORD", raising=False)
    settings.DATA_DIR = tmp_path
    return tmp_path


def _run() -> str:
    out = StringIO()
    call_command("demo_users", stdout=out)
    return out.getvalue()


def test_it_creates_one_user_per_role_and_a_second_reviewer(data_dir):
    _run()

    users = {u.username: u for u in get_user_model().objects.prefetch_related("groups")}
    roles = {name: sorted(g.name for g in user.groups.all()) for name, user in users.items()}
    assert roles == {
        "admin": ["admin"],
        "reviewer": ["reviewer"],
        "reviewer2": ["reviewer"],
        "engineer": ["engineer"],
        "compliance": ["compliance"],
    }
    assert users["admin"].is_staff and users["admin"].is_superuser
    assert not any(users[name].is_staff for name in ("reviewer", "reviewer2", "engineer", "compliance"))


def test_it_keeps_generated_passwords_private_and_prints_them(data_dir):
    output = _run()

    path = data_dir / "demo_passwords.json"
    passwords = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for username, password in passwords.items():
        assert f"{username}" in output and password in output
        assert get_user_model().objects.get(username=username).check_password(password)


def test_running_it_twice_keeps_the_same_passwords_and_sessions(data_dir):
    _run()
    first = json.loads((data_dir / "demo_passwords.json").read_text())
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    _run()

    assert json.loads((data_dir / "demo_passwords.json").read_text()) == first
    # An unchanged hash keeps the session auth hash, so people stay logged in across `make run`.
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert get_user_model().objects.count() == 5


def test_a_password_from_the_environment_wins_and_is_not_written_down(data_dir, monkeypatch):
    monkeypatch.setenv("GATEHOUSE_DEMO_PASSWORD", "demo-pass-123")

    output = _run()

    assert "demo-pass-123" not in output
    assert not (data_dir / "demo_passwords.json").exists()
    assert get_user_model().objects.get(username="reviewer2").check_password("demo-pass-123")


@pytest.mark.parametrize("weak", ["short1", "password123", "1234567890123", "reviewer2x"])
def test_a_weak_password_from_the_environment_is_refused_and_changes_nothing(data_dir, monkeypatch, weak):
    monkeypatch.setenv("GATEHOUSE_DEMO_PASSWORD", weak)

    with pytest.raises(CommandError) as refused:
        _run()

    assert "GATEHOUSE_DEMO_PASSWORD is refused" in str(refused.value)
    assert "unset it" in str(refused.value)
    assert not get_user_model().objects.exists()


def test_it_restores_a_demo_user_whose_role_was_changed(data_dir):
    _run()
    engineer = get_user_model().objects.get(username="engineer")
    engineer.groups.clear()
    engineer.is_superuser = True
    engineer.save()

    _run()

    engineer.refresh_from_db()
    assert [g.name for g in engineer.groups.all()] == ["engineer"]
    assert not engineer.is_superuser
