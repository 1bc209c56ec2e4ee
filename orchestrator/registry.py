"""Workflows are registered by module path in settings.GATEHOUSE_WORKFLOWS.

A module exposes `graph = Graph(...)`, or `graphs = [...]` when it defines several.
"""

from __future__ import annotations

import importlib
from functools import cache

from django.conf import settings

from orchestrator.graph import Graph, GraphError


class UnknownWorkflow(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown workflow {name!r}; known workflows: {', '.join(sorted(known)) or '(none)'}. "
            "Register a module path in GATEHOUSE_WORKFLOWS."
        )


class WorkflowRetired(UnknownWorkflow):
    """A stored run's workflow is not registered any more: its runs can be read, not resumed or forked."""

    def __init__(self, workflow: str, thread_id: str) -> None:
        # Retired, or this process was started without the module the workers have: say both, so
        # a command run from a shell that lacks the variable does not read as a retirement.
        LookupError.__init__(self, f"workflow {workflow!r} of run {thread_id} is not deployed here (it was retired, "
                                   "or this process's GATEHOUSE_WORKFLOWS lacks its module)")


def run_workflow(workflow: str, thread_id: str) -> Graph:
    """The graph a stored run executes, or WorkflowRetired naming the run."""
    try:
        return workflow_get(workflow)
    except UnknownWorkflow:
        raise WorkflowRetired(workflow, thread_id) from None


@cache
def workflows() -> dict[str, Graph]:
    found: dict[str, Graph] = {}
    for path in settings.GATEHOUSE_WORKFLOWS:
        module = importlib.import_module(path)
        graphs = getattr(module, "graphs", None) or [getattr(module, "graph", None)]
        for graph in graphs:
            if not isinstance(graph, Graph):
                raise GraphError(f"{path} has no module-level `graph = Graph(...)` (or `graphs = [...]`).")
            if graph.name in found:
                raise GraphError(f"two registered modules define workflow {graph.name!r}.")
            found[graph.name] = graph.validate()
    return found


def workflow_get(name: str) -> Graph:
    registry = workflows()
    if name not in registry:
        raise UnknownWorkflow(name, list(registry))
    return registry[name]
