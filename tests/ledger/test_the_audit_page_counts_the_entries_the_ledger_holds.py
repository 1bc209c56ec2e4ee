"""The audit page's "Entries" is the size of the ledger: every entry written, sealed or awaiting its
seal, pruned ones included (retention keeps their leaves, so they are still in the signed tree and
provable). It is read from the last seal's tree size plus the tail written since, so the figure costs
an index range on the newest entries, not a count of the whole ledger on every load."""

from __future__ import annotations

import re

from django.template.loader import render_to_string

from audit.models import LedgerEntry, PrunedLeaf, Seal
from audit.sealing import ledger_seal
from audit.selectors_ledger import AuditOverview
from tests.ledger.pruning import finished_long_ago, prune_now


def _stat(page, label: str) -> str:
    found = re.search(rf'<div class="label">{label}</div><div class="value">([^<]+)</div>', page.content.decode())
    assert found, f"no {label!r} figure on the audit page"
    return found.group(1)


def test_entries_sealed_awaiting_and_pruned_are_all_counted(letter_run, compliance_user, client_for):
    client = client_for(compliance_user)
    first = letter_run()
    before_any_seal = LedgerEntry.objects.count()
    page = client.get("/audit/")
    assert (_stat(page, "Entries"), _stat(page, "Awaiting seal")) == (str(before_any_seal), str(before_any_seal))

    finished_long_ago(first, status="completed")  # seals everything so far
    letter_run()  # written after the seal
    pruned = prune_now()
    assert pruned.due == [first.thread_id] and PrunedLeaf.objects.filter(chain=first.thread_id).exists()

    written = LedgerEntry.objects.count() + PrunedLeaf.objects.count()
    awaiting = LedgerEntry.objects.filter(gseq__gt=Seal.objects.order_by("-seal_no").first().last_gseq).count()
    page = client.get("/audit/")
    assert _stat(page, "Entries") == str(written), "the pruned run's entries are still in the ledger"
    assert _stat(page, "Awaiting seal") == str(awaiting) and awaiting > 0

    ledger_seal()
    page = client.get("/audit/")
    assert (_stat(page, "Entries"), _stat(page, "Awaiting seal")) == (str(written), "0")


def test_large_counts_are_grouped_by_thousands():
    html = render_to_string("audit/_ledger_status.html", {"overview": AuditOverview(
        entries=10_482_113, runs=52_004, last_seal=None, unsealed=1_250, last_verification=None)})
    assert ">10,482,113<" in html and "in 52,004 runs" in html and ">1,250<" in html
