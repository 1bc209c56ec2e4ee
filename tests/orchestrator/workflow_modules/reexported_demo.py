"""A module that registers a graph another module defines (the same workflow, not a second one)."""

from __future__ import annotations

from orchestrator.demo.email_approval import graph

graphs = [graph]
