"""Settings read the environment through typed helpers that stop on a bad value, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_int_list, env_list, env_secret

BASE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_env_bool_accepts_the_usual_spellings_of_true(monkeypatch, raw):
    monkeypatch.setenv("GH_FLAG", raw)
    assert env_bool("GH_FLAG", False) is True


def test_env_bool_refuses_a_typo_instead_of_guessing(monkeypatch):
    monkeypatch.setenv("GH_FLAG", "flase")
    with pytest.raises(ImproperlyConfigured, match="GH_FLAG='flase' is not a boolean"):
        env_bool("GH_FLAG", True)


def test_env_int_refuses_words_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("GH_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="GH_N='ten' is not a whole number"):
        env_int("GH_N", 1)
    monkeypatch.setenv("GH_N", "1")
    with pytest.raises(ImproperlyConfigured, match="GH_N=1 is below the minimum of 2"):
        env_int("GH_N", 5, minimum=2)


def test_env_int_and_env_list_fall_back_to_their_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("GH_N", raising=False)
    monkeypatch.delenv("GH_LIST", raising=False)
    assert env_int("GH_N", 7) == 7
    assert env_list("GH_LIST", ["a"]) == ["a"]
    monkeypatch.setenv("GH_LIST", " a, b ,,c ")
    assert env_list("GH_LIST", []) == ["a", "b", "c"]


def test_env_int_list_reads_each_number_and_names_a_bad_one(monkeypatch):
    monkeypatch.setenv("GH_STEPS", "1, 5,30")
    assert env_int_list("GH_STEPS", [2], minimum=1) == [1, 5, 30]
    monkeypatch.setenv("GH_STEPS", "1,,5")
    with pytest.raises(ImproperlyConfigured, match="GH_STEPS='' is not a whole number"):
        env_int_list("GH_STEPS", [2])
    monkeypatch.setenv("GH_STEPS", "1,0")
    with pytest.raises(ImproperlyConfigured, match="GH_STEPS=0 is below the minimum of 1"):
        env_int_list("GH_STEPS", [2], minimum=1)
    monkeypatch.setenv("GH_STEPS", " ")
    assert env_int_list("GH_STEPS", [2]) == [2]


def test_env_secret_reads_the_file_variant_and_refuses_both_at_once(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("GH_KEY", raising=False)
    monkeypatch.setenv("GH_KEY_FILE", str(secret))
    assert env_secret("GH_KEY") == "s3cret"

    monkeypatch.setenv("GH_KEY", "inline")
    with pytest.raises(ImproperlyConfigured, match="Set GH_KEY or GH_KEY_FILE, not both"):
        env_secret("GH_KEY")


def test_env_secret_names_an_unreadable_file(monkeypatch, tmp_path):
    monkeypatch.delenv("GH_KEY", raising=False)
    monkeypatch.setenv("GH_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="GH_KEY_FILE=.* cannot be read"):
        env_secret("GH_KEY")


def _setup_django(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG"}}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = _setup_django(DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is unset and DEBUG=0" in result.stderr


def test_production_mode_starts_when_a_secret_key_is_given():
    result = _setup_django(DEBUG="0", SECRET_KEY="x" * 50)

    assert result.returncode == 0, result.stderr


def test_a_mistyped_debug_flag_stops_the_process_naming_the_variable():
    result = _setup_django(DEBUG="flase")

    assert result.returncode != 0
    assert "DEBUG='flase' is not a boolean" in result.stderr


def test_a_deployment_that_names_its_database_but_forgets_debug_is_not_in_debug_mode():
    # Development mode is the default only when the embedded servers are used (no DATABASE_URL).
    result = _setup_django(DATABASE_URL="postgresql://app:pw@db.internal:5432/gatehouse")

    assert result.returncode != 0
    assert "SECRET_KEY is unset and DEBUG=0 (the default once DATABASE_URL is set)" in result.stderr


def _setting(*names: str, **env: str) -> subprocess.CompletedProcess:
    """The settings' values as a fresh process reads them from `env`: one repr a line, in order."""
    environment = {k: v for k, v in os.environ.items() if k not in {"PORT", "GATEHOUSE_BASE_URL"}
                   and not k.startswith("EMAIL_")}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         f"print(*(repr(getattr(settings, name)) for name in {names!r}), sep='\\n')"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60,
    )


def _base_url(**env: str) -> str:
    result = _setting("GATEHOUSE_BASE_URL", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().strip("'")


def test_links_in_e_mails_follow_the_port_make_run_serves_on():
    assert _base_url() == "http://127.0.0.1:8000"
    assert _base_url(PORT="8765") == "http://127.0.0.1:8765"
    assert _base_url(PORT="8765", GATEHOUSE_BASE_URL="https://gatehouse.example.com/") == \
        "https://gatehouse.example.com"


def test_a_mail_relay_is_configured_from_the_environment(tmp_path):
    password = tmp_path / "smtp-password"
    password.write_text("s3cret\n")
    env = {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587", "EMAIL_HOST_USER": "gatehouse",
           "EMAIL_HOST_PASSWORD_FILE": str(password), "EMAIL_USE_TLS": "1"}
    shown = _setting("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
                     **env).stdout.splitlines()
    assert shown == ["'smtp.example.com'", "587", "'gatehouse'", "'s3cret'", "True"]

    both = _setting("EMAIL_HOST", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert both.returncode != 0 and "exclude each other: set one" in both.stderr
    typo = _setting("EMAIL_PORT", EMAIL_PORT="smtp")
    assert typo.returncode != 0 and "EMAIL_PORT='smtp' is not a whole number" in typo.stderr


def test_the_outbox_keeps_settled_notifications_for_the_days_set_and_refuses_a_typo():
    assert _setting("GATEHOUSE_DELIVERY_KEEP_DAYS").stdout.strip() == "90"
    assert _setting("GATEHOUSE_DELIVERY_KEEP_DAYS", GATEHOUSE_DELIVERY_KEEP_DAYS="0").stdout.strip() == "0"
    typo = _setting("GATEHOUSE_DELIVERY_KEEP_DAYS", GATEHOUSE_DELIVERY_KEEP_DAYS="900000")
    assert typo.returncode != 0 and "GATEHOUSE_DELIVERY_KEEP_DAYS=900000 is above the maximum of 36500" in typo.stderr


def test_an_address_limit_not_above_the_pair_limit_is_refused_naming_both():
    # At or below the pair's limit, one person's mistyped passwords would pause their whole address (an
    # office behind one) no later than their own username.
    for address in ("5", "3"):
        refused = _setting("GATEHOUSE_LOGIN_FAILURES", GATEHOUSE_LOGIN_FAILURES="5",
                           GATEHOUSE_LOGIN_ADDRESS_FAILURES=address)
        assert refused.returncode != 0
        assert (f"GATEHOUSE_LOGIN_ADDRESS_FAILURES={address} is not above GATEHOUSE_LOGIN_FAILURES=5" in
                refused.stderr)
        assert "Set GATEHOUSE_LOGIN_ADDRESS_FAILURES above 5" in refused.stderr

    taken = _setting("GATEHOUSE_LOGIN_FAILURES", "GATEHOUSE_LOGIN_ADDRESS_FAILURES", GATEHOUSE_LOGIN_FAILURES="5",
                     GATEHOUSE_LOGIN_ADDRESS_FAILURES="6")
    assert taken.stdout.split() == ["5", "6"], taken.stderr
    # Raising the pair's limit alone past the default address limit is refused too.
    assert "is not above GATEHOUSE_LOGIN_FAILURES=40" in _setting(
        "GATEHOUSE_LOGIN_FAILURES", GATEHOUSE_LOGIN_FAILURES="40").stderr
