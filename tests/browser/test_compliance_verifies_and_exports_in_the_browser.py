"""A compliance officer's round in a real browser: verify the ledger from the Audit page, find a
rejection in the decision log, download a run's PDF report and its JSONL export, and check that
download offline with nothing but the public key; then see a tampered ledger named on the same page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from audit.sealing import ledger_seal
from review.services import DecisionInput, review_decide
from tests.ledger.conftest import (  # noqa: F401 - fixtures
    audit_cli,
    ledger_workflows,
    manage_cli,
    offline,
    public_key,
    seal_dir,
    tamper,
)
from tests.pdf_text import pdf_text
from tests.review.fixtures import email_item  # noqa: F401 - fixture


def _download(page, fmt: str, run: str, tmp_path):
    form = page.get_by_test_id("export-form")
    form.get_by_label("Run (thread id)").fill(run)
    form.get_by_label("Format").select_option(fmt)
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_compliance_verifies_finds_a_rejection_and_downloads_reports_that_check_out(
        page, login_as, screenshot, email_item, reviewer_user, compliance_user,  # noqa: F811
        seal_dir, public_key, tmp_path):  # noqa: F811
    approved, rejected = email_item(topic="Q3 numbers"), email_item(topic="Layoffs")
    review_decide(item=approved, actor=reviewer_user, decision=DecisionInput("approve"))
    review_decide(item=rejected, actor=reviewer_user,
                  decision=DecisionInput("reject", reason="Not before the board has met"))
    assert ledger_seal() is not None

    login_as(page, compliance_user)
    assert page.url.endswith("/audit/")
    status = page.get_by_test_id("last-verification")
    expect(status).to_contain_text("never verified")
    page.get_by_test_id("verify-now").click()
    expect(status).to_contain_text("intact")
    expect(status).to_contain_text(f"by {compliance_user.username}")
    screenshot(page, "audit-verified")

    page.get_by_role("button", name="Decision log").click()
    page.locator("#decision-filters select[name=decision]").select_option("reject")
    rows = page.get_by_test_id("decision-row")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Not before the board has met")
    expect(rows).to_contain_text(rejected.run.thread_id)
    assert "decision=reject" in page.url  # the filtered log can be bookmarked and shared
    screenshot(page, "decision-log-rejections")

    page.get_by_role("button", name="Audit ledger").click()
    thread = rejected.run.thread_id
    report = _download(page, "pdf", thread, tmp_path)
    assert report.name.endswith(".pdf")
    words = pdf_text(report)
    assert thread in words and "Not before the board has met" in words

    export = _download(page, "jsonl", thread, tmp_path)
    checked = offline(export, public_key)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.match(r"OK: \d+ entries in 1 run", checked.stdout), checked.stdout

    # An attacker with database access puts another name on the rejection: the next check names it.
    tamper("UPDATE audit_ledgerentry SET actor = 'someone-else' WHERE chain = %s AND actor = %s",
           [thread, reviewer_user.username])
    page.goto("/audit/")
    page.get_by_test_id("verify-now").click()
    expect(status).not_to_contain_text("intact")
    problem = page.get_by_test_id("verification-problem")
    expect(problem).to_contain_text(thread)
    assert problem.inner_text().count(thread) == 1, "the entry is named once"
    assert "was modified: its hash no longer matches its contents" in problem.inner_text()
    screenshot(page, "audit-tampered")
