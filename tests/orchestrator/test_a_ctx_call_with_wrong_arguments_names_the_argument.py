"""A node calling ctx with arguments it cannot take fails at once (the same code would make the same
call on every retry), with a message naming the node, the call and what to give instead: they used
to surface as whatever broke deeper down ("can't multiply sequence by non-int of type 'Decimal'",
"Object of type function is not JSON serializable", "'dict' object has no attribute 'action'"), after
every retry, or as an LLM call with nothing to ask that a real provider refuses."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import JournalEntry, Run
from orchestrator.services import run_start

EXPECTED = {
    "effect_without_a_name": "called ctx.effect() with the function send_note as its name: the first argument names "
                             "the effect (ctx.effect('send_email', send, to, body)), the function comes second",
    "effect_without_a_function": "called ctx.effect() for 'send_note' with a str where the function goes",
    "llm_without_a_prompt": "called ctx.llm() with nothing to ask: give a prompt (ctx.llm('…')) or messages=[…]",
    "llm_with_max_tokens_as_text": "called ctx.llm() with max_tokens='300': it must be a whole number of at least 1",
    "llm_with_a_prompt_that_is_not_text": "called ctx.llm() with prompt=42: it must be text (a str)",
    "blob_of_a_dict": "called ctx.blobs.put() with a dict: it stores bytes or text",
    "blob_get_of_a_sha": "called ctx.blobs.get() with str '000",
    "interrupt_with_a_dict": "called ctx.interrupt() with a dict: it takes a GateRequest(",
}


@pytest.mark.parametrize("mistake", sorted(EXPECTED))
def test_the_run_fails_at_once_naming_node_call_and_argument(transactional_db, test_graphs, mistake):
    run = run_start(workflow="calls_ctx_wrongly", input={"mistake": mistake})
    assert run_advance(run.pk, worker="test") == "failed"
    run = Run.objects.get(pk=run.pk)
    assert run.error["type"] == "CtxCallError" and run.error["attempts"] == 1
    assert run.error["message"].startswith(f"node 'work' {EXPECTED[mistake]}")
    assert not JournalEntry.objects.filter(run_id=run.pk).exists(), "nothing was called, paid or recorded"
