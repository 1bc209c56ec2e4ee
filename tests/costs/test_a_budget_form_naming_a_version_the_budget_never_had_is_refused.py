"""The budget edit form carries the version it was opened on (a hidden field). One naming a version the
budget never had (edited by hand, or built by a script) was a 500 at 2147483647 (the next version is past
what the column holds), and otherwise a 409 blaming "someone else" for a change nobody made. It is now
refused saying what to do, and nothing is saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orchestrator.models import Budget

FORM = {"name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly", "cap": "120",
        "soft_thresholds": "80", "active": "on"}


@pytest.fixture
def legal(db) -> Budget:
    return Budget.objects.create(name="Legal", scope="label", match="department=legal", period="monthly",
                                 cap=Decimal("100"), soft_thresholds=[80], version=3)


@pytest.mark.parametrize("version", ["4", "2147483647", "99999999999999999999", "-1"])
def test_it_is_refused_and_nothing_is_saved(legal, client_for, admin_user, version):
    response = client_for(admin_user).post(reverse("audit:budget_edit", args=[legal.pk]),
                                           {**FORM, "version": version})
    page = response.content.decode()

    assert response.status_code == 200  # the form back, as for a form that names no version
    assert "Someone else" not in page
    assert "Reload the page and make your change again" in page
    legal.refresh_from_db()
    assert (legal.cap, legal.version) == (Decimal("100"), 3)


def test_the_version_it_was_opened_on_still_saves(legal, client_for, admin_user):
    response = client_for(admin_user).post(reverse("audit:budget_edit", args=[legal.pk]), {**FORM, "version": "3"})

    assert response.status_code == 302
    legal.refresh_from_db()
    assert (legal.cap, legal.version) == (Decimal("120"), 4)
