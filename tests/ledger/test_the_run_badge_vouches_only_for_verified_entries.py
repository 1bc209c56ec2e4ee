"""A run page's ledger badge says "verified" only for entries a verification has checked: a run
decided after the last verification has newer entries, sealed or not, that nobody has verified yet,
and the badge says so until the next verification."""

from __future__ import annotations

from django.urls import reverse

from audit.sealing import ledger_seal
from audit.selectors_ledger import run_ledger_status
from audit.verify import ledger_verify
from orchestrator.executor import run_advance
from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_entries_written_after_the_last_verification_are_not_called_verified(
        email_item, reviewer_user, admin_user, client_for, seal_dir):  # noqa: F811
    item = email_item()
    run = item.run
    assert ledger_seal() is not None and ledger_verify().ok
    run.refresh_from_db()
    assert run_ledger_status(run).state == "verified"

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "completed"
    assert ledger_seal() is not None  # every entry sealed: only the verification is missing
    run.refresh_from_db()

    status = run_ledger_status(run)
    assert (status.state, status.label) == ("unsealed", "Newer entries not verified")
    assert "were written after the last verification" in status.detail
    page = client_for(admin_user).get(reverse("audit:run", args=[run.thread_id])).content.decode()
    assert 'data-state="unsealed"' in page and "Newer entries not verified" in page

    assert ledger_verify().ok
    assert run_ledger_status(run).state == "verified"
