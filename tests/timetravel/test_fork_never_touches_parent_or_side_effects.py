"""A fork never performs a side effect unless allowed, and never changes its parent run."""

from __future__ import annotations

from audit.models import LedgerEntry
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, JournalEntry, OutboxMessage, RunStatus


def _parent_snapshot(run):
    run.refresh_from_db()
    checkpoints = list(Checkpoint.objects.filter(run=run).order_by("step").values_list(
        "step", "node", "source", "delta", "snapshot", "next_node", "state_hash"))
    return {"status": run.status, "step": run.step, "checkpoints": checkpoints, "tokens": run.input_tokens,
            "cost": run.cost, "journal": JournalEntry.objects.filter(run=run).count()}


def test_a_fork_dry_runs_the_archive_effect_and_leaves_its_parent_as_it_was(pipeline_run, advance_run,
                                                                            engineer_user):
    before = _parent_snapshot(pipeline_run)
    ledger_before = pipeline_run.ledger_len
    outbox_before = OutboxMessage.objects.count()

    fork = run_fork(run=pipeline_run, at_step=3, mode="live", actor=engineer_user)
    pipeline_run.refresh_from_db()
    # Forking appends exactly one "forked" entry to the parent's chain, naming the fork...
    assert pipeline_run.ledger_len == ledger_before + 1
    forked = LedgerEntry.objects.get(run=pipeline_run, seq_run=pipeline_run.ledger_len)
    assert forked.kind == "forked" and fork.thread_id in forked.payload
    fork = advance_run(fork)

    assert fork.status == RunStatus.COMPLETED
    assert OutboxMessage.objects.count() == outbox_before
    effect = JournalEntry.objects.get(run=fork, kind="effect")
    assert effect.dry_run and effect.idempotency_key.startswith(fork.thread_id)
    # ...and running the fork changes nothing else about the parent.
    assert _parent_snapshot(pipeline_run) == before
    pipeline_run.refresh_from_db()
    assert pipeline_run.ledger_len == ledger_before + 1
    assert LedgerEntry.objects.filter(run=fork, kind="fork").count() == 1


def test_an_allowed_effect_is_performed_once_under_the_forks_own_key(pipeline_run, advance_run, admin_user):
    outbox_before = OutboxMessage.objects.count()

    fork = advance_run(run_fork(run=pipeline_run, at_step=10, mode="recorded", allow_effects=True,
                                actor=admin_user))

    assert fork.status == RunStatus.COMPLETED
    assert OutboxMessage.objects.count() == outbox_before + 1
    sent = OutboxMessage.objects.latest("pk")
    assert sent.idempotency_key.startswith(f"{fork.thread_id}:")


def test_the_fork_records_who_forked_what_from_where(pipeline_run, engineer_user):
    fork = run_fork(run=pipeline_run, at_step=5, edits={"language": "fr"}, mode="recorded", actor=engineer_user)

    first = Checkpoint.objects.get(run=fork, step=0)
    assert (first.source, first.actor_id, first.next_node) == ("fork", engineer_user.pk, "extract_entities")
    assert '"language":"fr"' in first.meta and pipeline_run.thread_id in first.meta
    assert (fork.parent_id, fork.forked_from_step, fork.replay_mode, fork.allow_effects) == (
        pipeline_run.pk, 5, "recorded", False)
    assert fork.labels["forked_from"] == pipeline_run.thread_id
    assert fork.created_by_id == engineer_user.pk
    entry = LedgerEntry.objects.get(run=fork, kind="fork")
    assert entry.actor == "engineer" and '"fields":["language"]' in entry.payload
