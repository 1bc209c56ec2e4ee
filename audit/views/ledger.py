"""Ledger pages: placeholder until that issue lands."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from orchestrator.http import Request
from orchestrator.roles import section_required


@section_required("audit")
def ledger(request: Request) -> HttpResponse:
    return render(request, "audit/ledger.html")
