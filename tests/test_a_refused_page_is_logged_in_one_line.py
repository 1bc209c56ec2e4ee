"""A role check that refuses (403) is logged as one line naming the path, not with the traceback of the
PermissionDenied behind it, which an operator could take for a crash."""

from __future__ import annotations

import logging

import pytest

from orchestrator.roles import REVIEWER


@pytest.mark.django_db
def test_a_reviewer_refused_the_audit_page_leaves_one_log_line(client, make_user, caplog):
    client.force_login(make_user("rita", REVIEWER))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/audit/").status_code == 403

    (record,) = [r for r in caplog.records if r.name == "django.request"]
    # What the console handler (no formatter configured) prints for it.
    assert logging.Formatter().format(record) == "Forbidden (Permission denied): /audit/"
