"""Shared fixtures: one user per persona, so permission tests read like the roles table.

    def test_it_hides_costs_from_reviewers(client_for, reviewer_user): ...

Every persona's password is `user.raw_password` (browser tests log in with it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from orchestrator.registry import workflows
from orchestrator.roles import ADMIN, COMPLIANCE, ENGINEER, REVIEWER
from orchestrator.tokens import api_token_create

pytest_plugins = ["tests.workers", "tests.fakes.fixtures"]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix) -> None:
    """test_gatehouse_<run>_gw0 instead of test_gatehouse_gw0: two test runs against the same
    server (two checkouts, or a run started while another is still going) never drop each other's
    databases. Every xdist worker of one run shares the run id."""
    from django.conf import settings

    run = (getattr(request.config, "workerinput", {}).get("testrunuid") or uuid.uuid4().hex)[:8]
    for db in settings.DATABASES.values():
        base = f"test_{db['NAME']}"
        current = db.setdefault("TEST", {}).get("NAME") or base  # base + "_gw0" under xdist
        if current.startswith(base):
            db["TEST"]["NAME"] = f"{base}_{run}{current[len(base) :]}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs ~0.3 s per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def register_workflows(settings) -> Iterator[Callable[[str], None]]:
    """register_workflows("tests.x.graphs"): that module's workflows are registered for one test."""

    def register(module: str) -> None:
        settings.GATEHOUSE_WORKFLOWS = [*settings.GATEHOUSE_WORKFLOWS, module]
        workflows.cache_clear()

    yield register
    workflows.cache_clear()


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    """make_user("alice", "reviewer", ...) -> a saved user in those role groups."""

    def make(username: str, *roles: str, **fields) -> object:
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.com", **fields
        )
        # get_or_create: transactional tests flush the groups the data migration made.
        user.groups.set([Group.objects.get_or_create(name=role)[0] for role in roles])
        user.raw_password = PASSWORD
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", ADMIN, is_staff=True, is_superuser=True, first_name="Alex", last_name="Admin")


@pytest.fixture
def reviewer_user(make_user):
    return make_user("reviewer", REVIEWER, first_name="Riley", last_name="Reviewer")


@pytest.fixture
def reviewer2_user(make_user):
    return make_user("reviewer2", REVIEWER, first_name="Rowan", last_name="Reviewer")


@pytest.fixture
def engineer_user(make_user):
    return make_user("engineer", ENGINEER, first_name="Emery", last_name="Engineer")


@pytest.fixture
def compliance_user(make_user):
    return make_user("compliance", COMPLIANCE, first_name="Casey", last_name="Compliance")


@pytest.fixture
def outsider_user(make_user):
    return make_user("outsider", first_name="Oscar", last_name="Outsider")


@pytest.fixture
def client_for(db) -> Callable[[object], Client]:
    """client_for(user) -> a test client logged in as that user (no password round-trip)."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api(db):
    """api(user) -> a client sending a fresh Bearer token of that user's; api(token=...) one of yours;
    api() none."""

    def make(user=None, token: str | None = None) -> Client:
        key = token or (api_token_create(user=user, name="test") if user else None)
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else Client()

    return make
