"""The PDF audit report (reportlab): verification statement, then per run a summary, the decisions
with reasons and edits, costs by node, and the timeline of ledger entries.

A PDF cannot be written incrementally, so it is built in memory (runs are capped at MAX_RUNS; the
JSONL export has no cap) and then streamed in chunks.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from audit.ledger import utc_now_iso
from audit.models import LedgerEntry, PrunedChain, Seal
from audit.offline_verifier import plural
from audit.selectors_ledger import RunReport, run_report
from audit.signing import load_verify_keys
from audit.templatetags.timetravel import suspend_reason
from audit.verify import ledger_verify
from orchestrator.budgets import money
from orchestrator.roles import person_name

MAX_RUNS = 200
INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
ACCENT = colors.HexColor("#4338ca")
OK_BG, OK_INK = colors.HexColor("#ecfdf5"), colors.HexColor("#065f46")
BAD_BG, BAD_INK = colors.HexColor("#fef2f2"), colors.HexColor("#991b1b")
RULE = colors.HexColor("#e5e7eb")

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontSize=20, leading=24, alignment=TA_LEFT,
                            textColor=INK, spaceAfter=2),
    "subtitle": ParagraphStyle("subtitle", parent=_base["Normal"], fontSize=10, textColor=MUTED, spaceAfter=10),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontSize=14, textColor=ACCENT, spaceBefore=10,
                         spaceAfter=4),
    "h3": ParagraphStyle("h3", parent=_base["Heading3"], fontSize=11, textColor=INK, spaceBefore=8, spaceAfter=3),
    "body": ParagraphStyle("body", parent=_base["Normal"], fontSize=9.5, leading=13, textColor=INK),
    "cell": ParagraphStyle("cell", parent=_base["Normal"], fontSize=8, leading=10, textColor=INK),
    "mono": ParagraphStyle("mono", parent=_base["Normal"], fontName="Courier", fontSize=7.5, leading=9.5,
                           textColor=INK),
    "muted": ParagraphStyle("muted", parent=_base["Normal"], fontSize=8, leading=10, textColor=MUTED),
}

EVENT_NAMES = {
    "run_started": "Run started", "node_completed": "Node completed", "gate_entered": "Waiting for a decision",
    "decision": "Decision", "approval_recorded": "Approval recorded", "run_completed": "Run completed",
    "run_rejected": "Run rejected", "run_cancelled": "Run cancelled", "run_retried": "Run retried",
    "retry": "Retry", "node_failed": "Node failed", "loop_guard": "Loop guard", "fork": "Forked from parent",
    "forked": "Fork created", "budget_exceeded": "Budget exceeded",
}


def _p(text: Any, style: str = "cell") -> Paragraph:
    return Paragraph(escape(str(text)), STYLES[style])


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2ff")),
                  ("TEXTCOLOR", (0, 0), (-1, 0), ACCENT), ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                  ("FONTSIZE", (0, 0), (-1, 0), 8)]
    table.setStyle(TableStyle(style))
    return table


def _detail(kind: str, payload: dict[str, Any]) -> str:
    """A short, human line for an entry. Digests are shown only as "recorded" (they prove, not tell)."""
    if kind == "node_completed":
        parts = [payload.get("node", "")]
        if payload.get("models"):
            parts.append(", ".join(payload["models"]))
        tokens = (payload.get("input_tokens") or 0) + (payload.get("output_tokens") or 0)
        if tokens:
            parts.append(f"{tokens:,} tokens")
        if payload.get("cost") not in (None, "0", "0.000000"):
            parts.append(money(Decimal(payload["cost"])))
        if payload.get("duration_ms") is not None:
            parts.append(f"{payload['duration_ms']:.0f} ms")
        return " · ".join(p for p in parts if p)
    if kind == "decision":
        return f"{payload.get('decision', '')} at {payload.get('node', '')}" + (
            " (reason recorded)" if payload.get("reason") else "") + (" (edits recorded)" if payload.get("edits") else "")
    if kind == "run_started":
        return f"{payload.get('workflow', '')} {payload.get('version', '')[:12]}"
    if kind in ("gate_entered", "loop_guard"):
        return " · ".join(str(payload[k]) for k in ("node", "action", "why") if payload.get(k))
    shown = {k: v for k, v in payload.items() if not (isinstance(v, str) and v.startswith("sha256:"))}
    return ", ".join(f"{k}: {v}" for k, v in shown.items())[:160]


def _statement(story: list[Any], runs: list[str]) -> None:
    result = ledger_verify(run=runs[0]) if len(runs) == 1 else ledger_verify()
    seal = Seal.objects.order_by("-seal_no").first()
    keys = ", ".join(sorted(load_verify_keys())) or "none configured"
    if result.ok:
        head = "Verified: the record is intact"
        lines = [
            f"{plural(result.entries, 'ledger entry', 'ledger entries')} in {plural(result.chains, 'chain')} were "
            f"recomputed at {utc_now_iso()[:19].replace('T', ' ')} UTC: "
            "every entry matches its hash and links to the one before it, every run ends where its "
            "recorded head says, and nothing is missing.",
        ]
        bg, ink = OK_BG, OK_INK
    else:
        first = result.first
        head = "Verification FAILED"
        lines = [first.sentence()]
        bg, ink = BAD_BG, BAD_INK
    if seal is not None:
        lines.append(f"Sealed through seal {seal.seal_no} ({seal.tree_size:,} entries, "
                     f"{seal.sealed_at[:19].replace('T', ' ')} UTC), Merkle root "
                     f"{seal.root[:16]}…, Ed25519-signed with key {seal.key_id}; {result.seals} seal"
                     f"{'s' if result.seals != 1 else ''} and signatures checked, and compared with the copies "
                     "kept outside the database.")
        # The seal is the ledger's, not these runs': say which of their entries it does not cover yet,
        # or "sealed through seal N" reads as if all of them were signed.
        unsealed = LedgerEntry.objects.filter(chain__in=runs, gseq__gt=seal.last_gseq).count()
        if unsealed:
            lines.append(f"{plural(unsealed, 'entry', 'entries')} of this report "
                         f"{'is' if unsealed == 1 else 'are'} newer than seal {seal.seal_no}, so not yet "
                         "signed: the next seal will cover them; export again after it for a record "
                         "that is sealed throughout.")
    else:
        lines.append("No seal has been made yet, so these entries are not yet signed.")
    lines.append(f"Public keys known: {keys}. To check independently, export JSONL and run "
                 "offline_verifier.py with the public key (manage.py audit public-key).")
    box = Table([[Paragraph(f"<b>{escape(head)}</b>", ParagraphStyle("h", parent=STYLES["body"], textColor=ink,
                                                                         fontSize=11))]]
                + [[Paragraph(escape(line), ParagraphStyle("b", parent=STYLES["body"], textColor=ink))]
                   for line in lines], colWidths=[174 * mm])
    box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), bg), ("BOX", (0, 0), (-1, -1), 0.6, ink),
                             ("LEFTPADDING", (0, 0), (-1, -1), 8), ("TOPPADDING", (0, 0), (-1, -1), 4),
                             ("BOTTOMPADDING", (0, -1), (-1, -1), 8)]))
    story += [Paragraph("Verification statement", STYLES["h2"]), box]


def _run_section(story: list[Any], report: RunReport) -> None:
    run = report.run
    story.append(CondPageBreak(60 * mm))
    story.append(Paragraph(f"Run <font face='Courier'>{escape(run.thread_id)}</font>", STYLES["h2"]))
    facts = [
        ("Workflow", f"{run.workflow} (version {run.graph_version[:16]})"),
        ("Status", run.get_status_display() + (f" — {suspend_reason(run.suspended_reason)}"
                                               if run.suspended_reason else "")),
        ("Started", f"{run.created_at:%Y-%m-%d %H:%M:%S} UTC"
         + (f" by {person_name(run.created_by)}" if run.created_by_id else "")),
        ("Finished", f"{run.finished_at:%Y-%m-%d %H:%M:%S} UTC" if run.finished_at else "—"),
        ("Steps", str(run.step)),
        ("Tokens / cost", f"{report.total_tokens:,} tokens · {money(report.total_cost)}"),
        ("Ledger", f"{run.ledger_len} entries, head {run.ledger_head[:16]}…"),
    ]
    story.append(_table([[_p(k, "muted"), _p(v)] for k, v in facts], [35 * mm, 139 * mm], header=False))
    if report.pruned is not None:
        story += [Spacer(1, 4), _p(_pruned_statement(report.pruned))]
        return

    story.append(Paragraph("Decisions", STYLES["h3"]))
    if report.decisions:
        rows = [["When (UTC)", "Who", "Decision", "Gate", "Reason", "Edits"]]
        for d in report.decisions:
            edits = json.dumps(d.edits, ensure_ascii=False, sort_keys=True) if d.edits else "—"
            rows.append([_p(f"{d.created_at:%Y-%m-%d %H:%M}"), _p(person_name(d.actor)), _p(d.get_decision_display()),
                         _p(d.item.action or d.item.node), _p(d.reason or "—"), _p(edits, "mono")])
        story.append(_table(rows, [25 * mm, 22 * mm, 22 * mm, 28 * mm, 40 * mm, 37 * mm]))
    if report.waiting_for is not None:
        gate = f" ({report.waiting_for})" if report.waiting_for else ""
        story.append(_p(f"The run is waiting for another decision{gate}." if report.decisions else
                        f"No decision yet: the run is waiting for one{gate}.", "muted"))
    elif not report.decisions:
        story.append(_p("No human decisions were needed in this run.", "muted"))

    story.append(Paragraph("Costs by node", STYLES["h3"]))
    if report.costs:
        rows = [["Node", "Steps", "Tokens", "Cost"]]
        # Every digit to a millionth, as the cost pages show them: rounded to 4 places, a node's
        # $0.000117 read $0.0001, a node with tokens cost "$0.0000", and the rows missed their total.
        rows += [[_p(c["node"]), _p(c["steps"]), _p(f"{c['tokens'] or 0:,}"), _p(money(c["cost"] or 0))]
                 for c in report.costs]
        rows.append([_p("Total", "muted"), "", _p(f"{report.total_tokens:,}"), _p(money(report.total_cost))])
        story.append(_table(rows, [70 * mm, 25 * mm, 35 * mm, 35 * mm]))
    else:
        story.append(_p("No node has run yet.", "muted"))

    story.append(Paragraph("Timeline", STYLES["h3"]))
    rows = [["#", "When (UTC)", "Event", "Step", "Who", "Details"]]
    for entry in report.entries:
        payload = json.loads(entry.payload)
        rows.append([_p(entry.seq_run), _p(entry.at[:19].replace("T", " ")),
                     _p(EVENT_NAMES.get(entry.kind, entry.kind.replace("_", " "))),
                     _p("" if entry.step is None else entry.step), _p(entry.actor or "system"),
                     _p(_detail(entry.kind, payload) + (" [personal data erased]" if entry.redacted else ""))])
    story.append(_table(rows, [8 * mm, 28 * mm, 32 * mm, 10 * mm, 22 * mm, 74 * mm]))


def _pruned_statement(pruned: PrunedChain) -> str:
    # Retention deleted the run's entries, checkpoints and decisions: say so rather than print empty
    # tables that would read as "nothing happened".
    period = f"its workflow's {pruned.retention_days}-day retention period" if pruned.retention_days else \
        "its workflow's retention period"
    seal = Seal.objects.filter(chains__has_key=pruned.chain).order_by("-seal_no").values_list("seal_no", flat=True).first()
    proven = f"; seal {seal} signed that head, so it stays provable" if seal else ""
    return (f"Pruned on {pruned.pruned_at:%Y-%m-%d %H:%M} UTC under {period}: its ledger entries, checkpoints "
                  f"and decisions were deleted. Its ledger had {pruned.length} entries ending in head "
                  f"{pruned.head[:16]}…{proven}. The JSONL export states the prune for the offline verifier.")


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(18 * mm, 10 * mm, "Gatehouse audit report · hash-chained, Merkle-sealed, Ed25519-signed ledger")
    canvas.drawRightString(192 * mm, 10 * mm, f"page {doc.page}")
    canvas.restoreState()


def export_pdf(runs: list[str], *, scope: Any, progress: Any = None, stage: Any = None) -> Iterator[bytes]:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title="Gatehouse audit report", author="Gatehouse")
    shown = runs[:MAX_RUNS]
    story: list[Any] = [
        Paragraph("Audit report", STYLES["title"]),
        Paragraph(escape(f"{scope.label()} · {len(runs)} run{'s' if len(runs) != 1 else ''} · generated "
                         f"{utc_now_iso()[:19].replace('T', ' ')} UTC"), STYLES["subtitle"]),
    ]
    _statement(story, runs)
    story += [Spacer(1, 4), _p("Ledger entries hold digests of personal data, never the data itself; 'personal "
                               "data erased' marks entries whose underlying data was removed on request while "
                               "their proof was kept.", "muted")]
    if len(runs) > len(shown):
        story.append(Spacer(1, 4))
        story.append(_p(f"This report details the first {len(shown)} of {len(runs)} runs; the JSONL and CSV "
                        "exports hold all of them.", "muted"))
    for done, thread_id in enumerate(shown, 1):
        _run_section(story, run_report(thread_id))
        if progress:
            progress(done, len(shown))
    if stage:
        # Laying out the pages takes about as long as reading the runs (15 s for 200), with no count to show.
        stage("building the PDF…")
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    data = buffer.getvalue()
    for start in range(0, len(data), 64 * 1024):
        yield data[start:start + 64 * 1024]
