"""Audit pages (compliance, admin): ledger status, verify now, exports, inclusion proofs, decision log.

Exports and proofs are for the compliance role (and admin) only: `role_required` answers 403 to
everyone else, whatever the template shows.
"""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from audit.date_range import date_range_parse
from audit.export_errors import LedgerDamaged
from audit.exports import (
    CONTENT_TYPES,
    EXPORTERS,
    FORMATS,
    ExportError,
    ExportScope,
    export_filename,
    export_stream,
    inclusion_proof_document,
)
from audit.models import LedgerEntry
from audit.selectors_ledger import (
    DECISIONS,
    WHERE_THREAD_IDS_ARE,
    DecisionFilters,
    audit_overview,
    chain_known,
    decision_actors,
    decision_log,
    ledger_entries_page,
    ledger_workflows,
    recent_thread_ids,
    unknown_run_message,
)
from audit.services import SYSTEM_CHAIN
from audit.verify import ledger_verify
from orchestrator.http import Request, row_id
from orchestrator.roles import role_required, section_required
from orchestrator.value_errors import has_nul


def _ledger_context(request: Request, **extra: object) -> dict[str, object]:
    # The entries list: one run's chain or all, a page at a time (`before` = the next page's start; a
    # value edited by hand that does not read starts from the newest, as the decision log's cursor).
    chain = request.GET.get("run", "").strip()
    before = row_id(request.GET.get("before", ""))
    entries_error = ""
    if has_nul(chain):  # PostgreSQL refuses a NUL in a query (a 500); no thread id holds one
        entries_error = (f"no run {chain!r}: a thread id has no NUL character (%00); copy it exactly as it appears "
                         f"in {WHERE_THREAD_IDS_ARE}")
    elif chain and chain != SYSTEM_CHAIN and not chain_known(chain):
        entries_error = unknown_run_message(chain)
    entries, older = ([], None) if entries_error else ledger_entries_page(chain=chain, before=before)
    return {"overview": audit_overview(), "entries": entries, "entries_run": chain, "entries_before": before,
            "entries_older": older, "entries_error": entries_error, "formats": FORMATS,
            "today": date.today().isoformat(), "thread_ids": recent_thread_ids(), **extra}


@section_required("audit")
@require_GET
def ledger(request: Request) -> HttpResponse:
    context = _ledger_context(request)
    return render(request, "audit/ledger.html", context, status=400 if context["entries_error"] else 200)


@section_required("audit")
@require_POST
def ledger_verify_now(request: Request) -> HttpResponse:
    result = ledger_verify(actor=request.user.get_username())
    if request.htmx:
        return render(request, "audit/_ledger_status.html", {"overview": audit_overview()})
    (messages.success if result.ok else messages.error)(request, result.summary())
    return redirect("audit:ledger")


@role_required(*EXPORTERS)
@require_POST
def ledger_export(request: Request) -> HttpResponse:
    data = request.POST
    dates = date_range_parse(data)
    scope = ExportScope(run=data.get("run", "").strip() or None, since=dates.since, until=dates.until,
                        workflow=data.get("workflow", "").strip() or None,
                        actor=data.get("actor", "").strip() or None)
    fmt = data.get("format", "jsonl")
    try:
        if dates.errors:
            raise ExportError(dates.message())
        runs, stream = export_stream(scope=scope, fmt=fmt, actor=request.user.get_username())
    except ExportError as exc:
        context = _ledger_context(request, export_error=str(exc), export_form=data)
        # A damaged ledger is no fault of the request: 409, the ledger's state conflicts with exporting it.
        return render(request, "audit/ledger.html", context, status=409 if isinstance(exc, LedgerDamaged) else 400)
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, export_filename(scope, fmt))
    response["X-Export-Runs"] = str(len(runs))
    return response


@role_required(*EXPORTERS)
@require_GET
def ledger_proof(request: Request, gseq: int) -> HttpResponse:
    entry = LedgerEntry.objects.filter(gseq=gseq).first()
    if entry is None:
        raise Http404(f"no ledger entry {gseq}")
    try:
        document = inclusion_proof_document(entry)
    except LedgerDamaged as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="entry-{gseq}-proof.json"'
    return response


@section_required("audit")
@require_GET
def decisions(request: Request) -> HttpResponse:
    actors, workflows = decision_actors(), ledger_workflows()
    filters = DecisionFilters.from_query(request.GET, actors=actors, workflows=workflows)
    # A filter in error shows the error where the rows would be, not rows filtered by half the filters.
    cursor = request.GET.get("cursor", "")
    rows, next_cursor = ([], "") if filters.errors else decision_log(filters, cursor=cursor)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"filters": filters, "rows": rows, "decisions": DECISIONS, "actors": actors, "workflows": workflows,
               "cursor": cursor, "next_cursor": next_cursor, "query": query.urlencode()}
    for row in rows:
        row.edits_json = json.dumps(row.edits, indent=1, sort_keys=True, ensure_ascii=False) if row.edits else ""
    if request.htmx and not request.htmx.boosted:
        # 200 even with an error: htmx swaps in only 2xx answers, and this fragment carries the error.
        return render(request, "audit/_decision_rows.html", context)
    return render(request, "audit/decisions.html", context, status=400 if filters.errors else 200)
