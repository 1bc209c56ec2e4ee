"""The design notes' exercise: suspend at a gate, the process ends, a fresh process approves,
a worker resumes from the database, and the email is sent exactly once."""

from __future__ import annotations

import json
import re

from orchestrator.models import OutboxMessage, Run


def test_a_run_suspends_ends_its_process_and_resumes_from_another(manage, start_worker, wait_for, make_user):
    make_user("rita", "reviewer")

    # Process 1: start the run; a burst worker advances it to the gate and exits 0.
    thread_id = manage("runs", "start", "email_approval", "--input",
                       json.dumps({"to": "cfo@example.com", "topic": "Q3 numbers"})).stdout.strip()
    first = start_worker(burst=True)
    assert first.popen.wait(timeout=60) == 0, first.output()
    run = Run.objects.get(thread_id=thread_id)
    assert run.status == "suspended" and run.next_node == "review"
    shown = json.loads(manage("runs", "show", thread_id, "--json").stdout)
    assert shown["pending_gate"]["action"] == "send_email"
    assert OutboxMessage.objects.count() == 0  # nothing sent before a person decides

    # A fresh interpreter approves through the CLI; a new worker resumes from Postgres.
    out = manage("runs", "resume", thread_id, "--approve", "--actor", "rita").stdout
    assert "approve by rita" in out
    second = start_worker(burst=True)
    assert second.popen.wait(timeout=60) == 0, second.output()

    run.refresh_from_db()
    assert run.status == "completed"
    assert OutboxMessage.objects.filter(to="cfo@example.com").count() == 1
    history = json.loads(manage("runs", "history", thread_id, "--json").stdout)
    decisions = [row for row in history if row["source"] == "decision"]
    assert [(d["node"], d["actor"], d["meta"]["decision"]) for d in decisions] == [("review", "rita", "approve")]
    assert [row["node"] for row in history if row["source"] == "node"] == ["draft", "send"]


def test_a_second_decision_through_the_cli_names_who_decided_first(manage, start_worker, make_user):
    make_user("rita", "reviewer")
    make_user("sam", "reviewer")
    thread_id = manage("runs", "start", "email_approval", "--input",
                       json.dumps({"to": "ops@example.com", "topic": "outage"})).stdout.strip()
    assert start_worker(burst=True).popen.wait(timeout=60) == 0
    manage("runs", "resume", thread_id, "--reject", "--reason", "wrong recipient", "--actor", "rita")

    second = manage("runs", "resume", thread_id, "--approve", "--actor", "sam", check=False)
    assert second.returncode != 0
    assert re.search(r"already decided.*reject.* by rita", second.stderr)
    run = Run.objects.get(thread_id=thread_id)
    assert run.status == "rejected"
    assert OutboxMessage.objects.count() == 0


def test_the_cli_refuses_a_decision_from_someone_outside_the_gates_group(manage, start_worker, make_user):
    make_user("eve", "engineer")
    thread_id = manage("runs", "start", "email_approval", "--input",
                       json.dumps({"to": "ops@example.com", "topic": "outage"})).stdout.strip()
    assert start_worker(burst=True).popen.wait(timeout=60) == 0
    refused = manage("runs", "resume", thread_id, "--approve", "--actor", "eve", check=False)
    assert refused.returncode != 0 and "eve may not decide this item" in refused.stderr
    assert Run.objects.get(thread_id=thread_id).status == "suspended"
