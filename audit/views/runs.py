"""Runs and timeline pages (time travel): placeholder until that issue lands."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from orchestrator.http import Request
from orchestrator.roles import section_required


@section_required("runs")
def runs(request: Request) -> HttpResponse:
    return render(request, "audit/runs.html")
