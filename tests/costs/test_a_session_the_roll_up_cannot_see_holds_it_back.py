"""The roll-up waits for every transaction older than a day's end; it learns of them from
pg_stat_activity, which shows a role without pg_read_all_stats no more than that another role's
session exists (no state, no transaction start). Such a session may be in a transaction that began
before midnight: while one is there, no day is rolled up (the pages read the spend rows, as before).
Granted pg_read_all_stats, as the warning says, the role sees them and the complete days are rolled up."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection

from orchestrator.models import SpendDaily
from orchestrator.services import run_start
from orchestrator.spend_rollup import spend_rollup, spend_rollup_mark
from tests.costs.spend_rows import days_ago, spend_row
from tests.interleave import held_open


@pytest.fixture
def as_a_role_that_sees_only_its_own_sessions(transactional_db) -> Iterator[str]:
    """This test's connection as a role of its own (SET ROLE), as a deployment's application role."""
    role = f"gatehouse_rollup_probe_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        # Not a superuser, and no pg_read_all_stats: the tables it writes (this test writes its rows as it too).
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def _a_transaction() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_no_day_is_rolled_up_while_a_session_it_cannot_see_is_open(as_a_role_that_sees_only_its_own_sessions):
    run = run_start(workflow="cost_probe", input={})
    spend_row(run, day=days_ago(3))

    with held_open(_a_transaction):  # another connection: the test database's owner, a role of its own
        assert spend_rollup() == 0
        assert spend_rollup_mark() is None and not SpendDaily.objects.exists()

    # Not "once that session is gone": other tests' connections to this database, idle, are sessions
    # it cannot see either, and hold it back just as well. What the warning tells the operator to do:
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"GRANT pg_read_all_stats TO {as_a_role_that_sees_only_its_own_sessions}")
        cursor.execute(f"SET ROLE {as_a_role_that_sees_only_its_own_sessions}")

    assert spend_rollup() >= 1, "seeing every session, the complete days are rolled up"
    assert spend_rollup_mark() >= days_ago(2)
