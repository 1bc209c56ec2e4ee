"""Runs, ledger and costs pages. Placeholders until the timeline, ledger and cost views land."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from orchestrator.http import Request
from orchestrator.roles import section_required


@section_required("runs")
def runs(request: Request) -> HttpResponse:
    return render(request, "audit/runs.html")


@section_required("audit")
def ledger(request: Request) -> HttpResponse:
    return render(request, "audit/ledger.html")


@section_required("costs")
def costs(request: Request) -> HttpResponse:
    return render(request, "audit/costs.html")
