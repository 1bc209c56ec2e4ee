"""URLs of the runs pages (included by audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit.views import runs

urlpatterns = [
    path("runs/", runs.runs, name="runs"),
]
