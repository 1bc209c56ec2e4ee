"""A whole-ledger verification that finds a tampered entry turns red the badge of the run it names and
of every run sharing a seal that no longer checks out; the other runs' badges still say verified, and
say that the same check found a problem elsewhere. A problem that vouches for no run at all (sealed
history cut off) turns every badge red."""

from __future__ import annotations

from django.urls import reverse

from audit.sealing import ledger_seal
from audit.selectors_ledger import run_ledger_status
from audit.verify import ledger_verify
from tests.ledger.conftest import tamper


def _badge(client, run) -> str:
    page = client.get(reverse("audit:run", args=[run.thread_id])).content.decode()
    start = page.index('data-testid="ledger-badge"')
    return page[start:page.index("</span>", start)]


def _three_runs_two_seals(letter_run):
    first, neighbour = letter_run(email="a@example.com"), letter_run(email="b@example.com")
    assert ledger_seal() is not None  # seal 1: first and neighbour
    apart = letter_run(email="c@example.com")
    assert ledger_seal() is not None  # seal 2: apart alone
    assert ledger_verify().ok
    assert {run_ledger_status(r).state for r in (first, neighbour, apart)} == {"verified"}
    return first, neighbour, apart


def test_an_edited_entry_reddens_its_own_run_only(letter_run, seal_dir, client_for, admin_user):
    first, neighbour, apart = _three_runs_two_seals(letter_run)
    # The entry's hash (its Merkle leaf) is left alone: only its chain shows the edit.
    tamper("UPDATE audit_ledgerentry SET actor = 'mallory' WHERE chain = %s AND seq_run = 3", [first.thread_id])
    result = ledger_verify()
    assert not result.ok and f"entry 3 of run {first.thread_id}" in result.summary()

    status = run_ledger_status(first)
    assert (status.state, status.label) == ("failed", "Verification failed")
    assert f"entry 3 of run {first.thread_id}" in status.detail
    for run in (neighbour, apart):
        status = run_ledger_status(run)
        assert (status.state, status.label) == ("verified", "Ledger verified"), status
        assert "found a problem elsewhere in the ledger" in status.detail
        assert f"entry 3 of run {first.thread_id}" in status.detail

    client = client_for(admin_user)
    assert 'data-state="failed"' in _badge(client, first)
    assert 'data-state="verified"' in _badge(client, neighbour)


def test_a_deleted_entry_reddens_every_run_its_seal_covers(letter_run, seal_dir):
    first, neighbour, apart = _three_runs_two_seals(letter_run)
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 4", [first.thread_id])
    result = ledger_verify()
    assert not result.ok and any(f.entry == "seal 1" for f in result.findings)

    # Seal 1's root no longer rebuilds, so it vouches for neither of its runs.
    for run in (first, neighbour):
        assert run_ledger_status(run).state == "failed", run.thread_id
    assert run_ledger_status(apart).state == "verified"


def test_a_tampered_unsealed_entry_reddens_only_its_own_run(letter_run, seal_dir):
    sealed = letter_run(email="a@example.com")
    assert ledger_seal() is not None
    fresh, other = letter_run(email="b@example.com"), letter_run(email="c@example.com")
    tamper("UPDATE audit_ledgerentry SET at = '2020-01-01T00:00:00.000000Z' WHERE chain = %s AND seq_run = 2",
           [fresh.thread_id])

    assert not ledger_verify().ok
    assert run_ledger_status(fresh).state == "failed"
    assert run_ledger_status(sealed).state == "verified"
    assert run_ledger_status(other).label == "Verified, sealing pending"


def test_cut_off_sealed_history_reddens_every_run(letter_run, seal_dir):
    runs = [letter_run(email=f"user{n}@example.com") for n in range(2)]
    assert ledger_seal() is not None
    tamper("DELETE FROM audit_seal")  # its copy outside the database remains

    result = ledger_verify()
    assert not result.ok and "sealed history was cut off" in result.summary()
    for run in runs:
        assert run_ledger_status(run).state == "failed"


def test_a_run_s_badge_is_not_reddened_by_a_run_whose_id_merely_contains_its_own(letter_run, seal_dir):
    """Thread ids are matched whole: a problem in run T-10 is not one in run T-1."""
    short, long_ = letter_run(email="a@example.com"), letter_run(email="b@example.com")
    tamper("UPDATE orchestrator_run SET thread_id = %s WHERE id = %s", [short.thread_id + "0", long_.pk])
    tamper("UPDATE audit_ledgerentry SET chain = %s WHERE chain = %s", [short.thread_id + "0", long_.thread_id])
    long_.refresh_from_db()
    tamper("UPDATE audit_ledgerentry SET kind = 'forged' WHERE chain = %s AND seq_run = 2", [long_.thread_id])

    assert not ledger_verify().ok
    assert run_ledger_status(long_).state == "failed"
    assert run_ledger_status(short).state == "unsealed"  # verified, sealing pending
