"""Inbox views. Placeholder: the review flow replaces this with the real inbox."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from orchestrator.http import Request
from orchestrator.roles import section_required


@section_required("inbox")
def inbox(request: Request) -> HttpResponse:
    return render(request, "review/inbox.html")
