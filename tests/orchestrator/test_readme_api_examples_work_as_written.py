"""The curl examples of the README's JSON API section work as written: each command is read from the README
(method, path, token, body) and sent through Django's test client in order (start a run, read its state,
decide its gate, fork it with a node override and a step cap), with a worker advancing the run in between
as `make run`'s would; and every decision body the README lists is accepted at the demo gate."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from django.test import Client

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from orchestrator.tokens import api_token_create

README = Path(__file__).resolve().parents[2] / "README.md"


def _example_block() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (block,) = [b for b in blocks if "curl" in b and "$GATEHOUSE/api/runs" in b]
    return block


def _curl_commands(block: str) -> list[dict]:
    """Each curl command as {method, path, token, body}: what it sends."""
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        if not line.startswith("curl "):
            continue
        args = shlex.split(line)
        method = args[args.index("-X") + 1] if "-X" in args else "GET"
        (url,) = [a for a in args if a.startswith("$GATEHOUSE/")]
        headers = [args[i + 1] for i, a in enumerate(args) if a == "-H"]
        (auth,) = [h for h in headers if h.startswith("Authorization: Bearer ")]
        body = json.loads(args[args.index("-d") + 1]) if "-d" in args else None
        if body is not None:
            assert "Content-Type: application/json" in headers, line
        commands.append({"method": method, "path": url.removeprefix("$GATEHOUSE"),
                         "token": auth.removeprefix("Authorization: Bearer "), "body": body})
    return commands


def _send(client: Client, command: dict, tokens: dict[str, str]):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[command['token']]}"}
    if command["method"] == "GET":
        return client.get(command["path"], **headers)
    assert command["method"] == "POST"
    return client.post(command["path"], command["body"], content_type="application/json", **headers)


def _advance(thread_id: str) -> str:
    return run_advance(Run.objects.get(thread_id=thread_id).pk, worker="test")


def test_the_curl_examples_start_read_decide_and_fork(db, engineer_user, reviewer_user):
    tokens = {"$TOKEN": api_token_create(user=engineer_user, name="readme"),
              "$REVIEWER_TOKEN": api_token_create(user=reviewer_user, name="readme")}
    block = _example_block()
    assert "python manage.py api_token engineer" in block and "python manage.py api_token reviewer" in block
    start, state, decide, fork = _curl_commands(block)
    client = Client()

    started = _send(client, start, tokens)
    assert started.status_code == 201, started.content
    thread_id = started.json()["thread_id"]
    assert _advance(thread_id) == "suspended"  # the worker drafts the email and stops at the gate

    read = _send(client, state, tokens)
    assert read.status_code == 200, read.content
    assert read.json()["thread_id"] == thread_id and read.json()["step"] == 1
    shown = read.json()["state"]
    assert shown["to"] == "ana@example.com" and shown["subject"] == "About the Q3 invoice" and shown["body"]
    assert ('# → {"thread_id": "invoice-42", "step": 1, "state": {"to": "ana@example.com", "topic": "the Q3 invoice", '
            '"subject": "About the Q3 invoice", "body": "…", …}}') in block and thread_id == "invoice-42"  # as it says
    assert list(shown)[:4] == ["to", "topic", "subject", "body"]

    decided = _send(client, decide, tokens)
    assert decided.status_code == 200, decided.content
    assert decided.json()["decision"] == decide["body"]["decision"]
    assert _advance(thread_id) == "completed"
    assert Run.objects.get(thread_id=thread_id).status == "completed"

    forked = _send(client, fork, tokens)
    assert forked.status_code == 201, forked.content
    assert fork["body"]["overrides"] == {"nodes": {"draft": {"model": "demo-large"}}, "step_cap": 20}
    assert forked.json()["overrides"] == fork["body"]["overrides"]
    assert (forked.json()["parent"], forked.json()["forked_from_step"]) == (thread_id, fork["body"]["at_step"])


DECISIONS = re.findall(r'\{"decision": [^{}]*(?:\{[^{}]*\}[^{}]*)?\}', _example_block())


def test_the_readme_lists_each_decision_once():
    assert sorted(json.loads(d)["decision"] for d in DECISIONS) == ["approve", "edit", "edit", "reject", "respond"]


@pytest.mark.parametrize("body", DECISIONS)
def test_every_decision_body_the_readme_lists_is_accepted(db, engineer_user, reviewer_user, body):
    run = run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "the Q3 invoice"})
    assert run_advance(run.pk, worker="test") == "suspended"
    token = api_token_create(user=reviewer_user, name="readme")

    decided = Client().post(f"/api/runs/{run.thread_id}/decision", json.loads(body), content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {token}")

    assert decided.status_code == 200, decided.content
    assert decided.json()["decision"] == json.loads(body)["decision"]
