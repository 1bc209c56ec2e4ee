"""Small workflows used only by tests (registered by the tests that need them)."""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, field_validator

from orchestrator.graph import END, NO_RETRY, START, GateDecision, GateRequest, Graph, RetryPolicy, append


class Bad(BaseModel):
    payload: dict = {}
    note: str = ""
    count: int = 0


def good_step(state: Bad, ctx) -> dict:
    return {"note": "before\x00after", "count": 1}


def bad_step(state: Bad, ctx) -> dict:
    return {"payload": {"items": [{"ok": 1}, {"when": datetime.date(2026, 1, 1)}]}}


bad_output = Graph("bad_output", state=Bad)
bad_output.node("good", good_step).node("bad", bad_step)
bad_output.edge(START, "good").edge("good", "bad").edge("bad", END)


def wrong_type(state: Bad, ctx) -> dict:
    return {"count": "many"}


schema_violation = Graph("schema_violation", state=Bad)
schema_violation.node("wrong", wrong_type).edge(START, "wrong").edge("wrong", END)


class Counter(BaseModel):
    n: int = 0
    seen: Annotated[list[int], append] = []
    decision: GateDecision | None = None
    answer: str = ""
    ask_llm: bool = False


def count(state: Counter, ctx) -> dict:
    return {"n": state.n + 1, "seen": [state.n + 1]}


def ask(state: Counter, ctx) -> dict:
    if state.ask_llm:
        ctx.llm("Should we continue?", max_tokens=20)  # journaled before the interrupt
    decision = ctx.interrupt(GateRequest(action="confirm", args={}, description="Continue?",
                                         allowed=["approve", "reject", "respond"]))
    return {"answer": decision.response or decision.decision}


sequence = Graph("sequence", state=Counter)
for name in ("a", "b", "c", "d"):
    sequence.node(name, count)
sequence.node("ask", ask)
sequence.edge(START, "a").edge("a", "b").edge("b", "c").edge("c", "ask").edge("ask", "d").edge("d", END)


def transfer_request(state: Counter) -> GateRequest:
    return GateRequest(action="transfer", args={"n": state.n}, description=f"Move {state.n} units?")


static_gates = Graph("static_gates", state=Counter)
static_gates.node("prepare", count, interrupt_after=True, request=transfer_request)
static_gates.node("transfer", count, interrupt_before=True, request=transfer_request)
static_gates.edge(START, "prepare").edge("prepare", "transfer").edge("transfer", END)

SENT: list[str] = []  # what cancelled_mid_node's effect actually did, in this process


def cancel_then_send(state: Counter, ctx) -> dict:
    from orchestrator.models import Run
    from orchestrator.services import run_cancel

    # Someone presses Cancel while the node is busy, just before it acts.
    run_cancel(run=Run.objects.get(pk=ctx.run.id), reason="changed my mind")
    ctx.effect("wire_money", lambda key: SENT.append(key))
    return {"n": 1}


cancelled_mid_node = Graph("cancelled_mid_node", state=Counter)
cancelled_mid_node.node("send", cancel_then_send).edge(START, "send").edge("send", END)

STALLS = {"left": 0}  # how many more visits of lapse_then_send stall past their lease


def lapse_then_send(state: Counter, ctx) -> dict:
    from orchestrator.models import Run

    if STALLS["left"]:
        # The worker stalls past its lease (a long pause, its heartbeats not reaching the database)
        # just before it acts; nobody has taken the run over yet.
        STALLS["left"] -= 1
        Run.objects.filter(pk=ctx.run.id).update(lease_expires_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    ctx.effect("wire_money", lambda key: SENT.append(key))
    return {"n": 1}


lease_lapsed_mid_node = Graph("lease_lapsed_mid_node", state=Counter)
lease_lapsed_mid_node.node("send", lapse_then_send).edge(START, "send").edge("send", END)


def unchanged(state: Counter, ctx) -> dict:
    return {}


# "check" asks a person after every lap and changes nothing, so the lap repeats the same state.
gated_loop = Graph("gated_loop", state=Counter)
gated_loop.node("check", unchanged, interrupt_after=True, request=transfer_request)
gated_loop.edge(START, "check")
gated_loop.router("check", lambda state: "check" if not state.answer else END, ["check", END])

def broken_router(state: Counter) -> str:
    return {"a": "count"}[state.answer]  # KeyError: a bug in the workflow's routing code


def broken_request(state: Counter) -> GateRequest:
    raise KeyError("recipient")  # a bug in the gate's request builder


broken_routing = Graph("broken_routing", state=Counter)
broken_routing.node("count", count).edge(START, "count").router("count", broken_router, ["count", END])

broken_gate = Graph("broken_gate", state=Counter)
broken_gate.node("send", count, interrupt_before=True, request=broken_request)
broken_gate.edge(START, "send").edge("send", END)

def draft_then_ask(state: Counter, ctx) -> dict:
    # The call before the interrupt depends on the state: it must be repeated identically when the
    # node runs again after the decision, so an edit cannot have changed the state under it.
    draft = ctx.llm(f"Draft a note about {state.answer or 'nothing'}", max_tokens=20)
    decision = ctx.interrupt(GateRequest(action="post_note", args={"answer": state.answer},
                                         description=draft.text))
    return {"answer": decision.edits.get("answer", state.answer), "n": state.n + 1}


interrupt_edit = Graph("interrupt_edit", state=Counter)
interrupt_edit.node("draft", draft_then_ask).edge(START, "draft").edge("draft", END)

PARSER = {"broken": False, "prompt": "Give me a number"}  # the prompt: what a deploy may change


def call_then_parse(state: Counter, ctx) -> dict:
    answer = ctx.llm(PARSER["prompt"], max_tokens=20)
    if PARSER["broken"]:
        raise ValueError("the answer's parser broke")  # fixed by a deploy, then the run is retried
    return {"answer": answer.text}


call_then_parse_graph = Graph("call_then_parse", state=Counter)
call_then_parse_graph.node("call", call_then_parse, retry=NO_RETRY).edge(START, "call").edge("call", END)

def call_then_ask(state: Counter, ctx) -> dict:
    if PARSER["broken"]:
        raise ValueError("could not read the attachment")  # before any call, on the re-run after the decision
    # The prompt reads the whole state, the decision field included.
    ctx.llm(f"Should we go on? {state.model_dump_json()}", max_tokens=20)
    decision = ctx.interrupt(GateRequest(action="go_on", args={}, description="Go on?"))
    return {"answer": decision.decision}


call_then_ask_graph = Graph("call_then_ask", state=Counter)
call_then_ask_graph.node("ask", call_then_ask, retry=NO_RETRY).edge(START, "ask").edge("ask", END)

FLAKY = {"mode": ""}


class AttachmentMissing(RuntimeError):
    retryable = False


def call_then_flake(state: Counter, ctx) -> dict:
    if FLAKY["mode"] == "fail_before_call":
        raise AttachmentMissing("the attachment was not there yet")  # fails the run; an engineer retries it
    answer = ctx.llm("And a second opinion?", max_tokens=20)
    if FLAKY["mode"] == "crash_after_call":
        raise KeyboardInterrupt  # the worker dies after the call was journaled, before the commit
    return {"n": len(answer.text)}


# A visit that suspends and resumes, then a next node that fails, is retried, and dies after its call.
ask_then_flaky = Graph("ask_then_flaky", state=Counter)
ask_then_flaky.node("ask", call_then_ask, retry=NO_RETRY)
ask_then_flaky.node("second", call_then_flake)
ask_then_flaky.edge(START, "ask").edge("ask", "second").edge("second", END)

gated_both_ways = Graph("gated_both_ways", state=Counter)
gated_both_ways.node("t", count, interrupt_before=True, interrupt_after=True, request=transfer_request)
gated_both_ways.edge(START, "t").router("t", lambda state: "t" if state.n < 2 else END, ["t", END])

last_node_gated = Graph("last_node_gated", state=Counter)
last_node_gated.node("report", count, interrupt_after=True, request=transfer_request)
last_node_gated.edge(START, "report").edge("report", END)



class Attachment(BaseModel):
    """A node's own ctx.blobs pointers, kept as whole fields (and in an append list)."""

    text: str = ""
    file: dict = {}
    pages: Annotated[list[dict], append] = []
    note: str = ""
    decision: GateDecision | None = None


def attach(state: Attachment, ctx) -> dict:
    pointer = ctx.blobs.put(state.text, content_type="text/plain")
    return {"file": pointer, "pages": [pointer], "text": ""}


def read_back(state: Attachment, ctx) -> dict:
    return {"note": ctx.blobs.get(state.file).decode() + " / " + ctx.blobs.get(state.pages[0]).decode()}


def attachment_request(state: Attachment) -> GateRequest:
    return GateRequest(action="send", args={"file": state.file, "note": state.note}, description="Send the file?")


own_blobs = Graph("own_blobs", state=Attachment)
own_blobs.node("attach", attach).node("read_back", read_back, interrupt_before=True, request=attachment_request)
own_blobs.edge(START, "attach").edge("attach", "read_back").edge("read_back", END)

def payment_request(state: Counter) -> GateRequest:
    return GateRequest(action="pay", args={"n": state.n}, description="Pay?", reviewer_group="finance")


# Two desks: the reviewers approve the preparation, then the finance group (or an admin) the payment.
two_desks = Graph("two_desks", state=Counter)
two_desks.node("prepare", count, interrupt_after=True, request=transfer_request)
two_desks.node("pay", count, interrupt_before=True, request=payment_request)
two_desks.edge(START, "prepare").edge("prepare", "pay").edge("pay", END)


def bill(state: Counter, ctx) -> dict:
    return {"n": state.n + 1}


# A run of it must say which customer it is for: budgets and chargeback count runs by that label.
billed = Graph("billed", state=Counter, required_labels=("customer",))
billed.node("bill", bill).edge(START, "bill").edge("bill", END)


BOOKED: list[str] = []  # the idempotency keys book_meeting's effect was performed with, in this process


def book_meeting(key: str, who: str) -> datetime.date:
    BOOKED.append(key)
    return datetime.date(2026, 1, 5)  # the meeting's day, as an object the journal cannot hold


def book(state: Counter, ctx) -> dict:
    ctx.effect("book_meeting", book_meeting, "cfo@example.com")
    return {"n": 1}


# Its effect returns a date: the node fails, and must not perform the effect once per retry.
books_a_meeting = Graph("books_a_meeting", state=Counter)
books_a_meeting.node("book", book, retry=RetryPolicy(max_attempts=3, initial_delay=0.0))
books_a_meeting.edge(START, "book").edge("book", END)


class Mistake(BaseModel):
    mistake: str = ""


def send_note(key: str, to: str) -> dict:
    return {"sent": to}


# How a hurried engineer gets each ctx call wrong (calls_ctx_wrongly, by its input's `mistake`).
CTX_MISTAKES = {
    "effect_without_a_name": lambda ctx: ctx.effect(send_note, "cfo@example.com"),
    "effect_without_a_function": lambda ctx: ctx.effect("send_note", "cfo@example.com"),
    "llm_without_a_prompt": lambda ctx: ctx.llm(model="demo-small"),
    "llm_with_max_tokens_as_text": lambda ctx: ctx.llm("Summarize", max_tokens="300"),
    "llm_with_a_prompt_that_is_not_text": lambda ctx: ctx.llm(42),
    "blob_of_a_dict": lambda ctx: ctx.blobs.put({"a": 1}),
    "blob_get_of_a_sha": lambda ctx: ctx.blobs.get("0" * 64),
    "interrupt_with_a_dict": lambda ctx: ctx.interrupt({"action": "send"}),
}


def call_ctx_wrongly(state: Mistake, ctx) -> dict:
    CTX_MISTAKES[state.mistake](ctx)
    return {}


calls_ctx_wrongly = Graph("calls_ctx_wrongly", state=Mistake)
calls_ctx_wrongly.node("work", call_ctx_wrongly, retry=RetryPolicy(max_attempts=3, initial_delay=0.0))
calls_ctx_wrongly.edge(START, "work").edge("work", END)


class OpenEnded(BaseModel):
    """A state schema that keeps keys it does not declare, on purpose (the input's extra keys stay)."""

    model_config = ConfigDict(extra="allow")
    n: int = 0


class Tolerant(BaseModel):
    """A state schema that drops keys it does not declare, on purpose (old clients may still send them)."""

    model_config = ConfigDict(extra="ignore")
    n: int = 0


open_ended = Graph("open_ended", state=OpenEnded)
open_ended.node("bill", bill).edge(START, "bill").edge("bill", END)
tolerant = Graph("tolerant", state=Tolerant)
tolerant.node("bill", bill).edge(START, "bill").edge("bill", END)


# A validator a later deploy tightens: validators are code, not structure, so a run that stored a state
# under the old one is still resumed by the new one (its version counts as compatible).
CAPPED = {"at": None}


class Capped(BaseModel):
    n: int = 0
    decision: GateDecision | None = None

    @field_validator("n")
    @classmethod
    def within_cap(cls, n: int) -> int:
        if CAPPED["at"] is not None and n > CAPPED["at"]:
            raise ValueError(f"must be at most {CAPPED['at']}")
        return n


def grow(state: Capped, ctx) -> dict:
    return {"n": state.n + 5}


tightened = Graph("tightened", state=Capped)
tightened.node("grow", grow, interrupt_after=True, request=transfer_request).node("grow_more", grow)
tightened.edge(START, "grow").edge("grow", "grow_more").edge("grow_more", END)


graphs = [bad_output, schema_violation, sequence, static_gates, cancelled_mid_node, lease_lapsed_mid_node, gated_loop, broken_routing,
          broken_gate, interrupt_edit, call_then_parse_graph, call_then_ask_graph, gated_both_ways, last_node_gated,
          own_blobs, ask_then_flaky, two_desks, billed, books_a_meeting,
          calls_ctx_wrongly, open_ended, tolerant, tightened]
