"""Workflows are registered by module path in settings.GATEHOUSE_WORKFLOWS.

A module exposes `graph = Graph(...)`, or `graphs = [...]` when it defines several.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from django.conf import settings

from orchestrator.graph import Graph, GraphError


class UnknownWorkflow(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.known = sorted(known)  # the registered workflows, which the API's `fields` name too
        super().__init__(
            f"unknown workflow {name!r}; known workflows: {', '.join(self.known) or '(none)'}. "
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


class WorkflowModuleError(GraphError):
    """A module listed in GATEHOUSE_WORKFLOWS that cannot be registered: the message names it."""


def _import(path: str) -> ModuleType:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        # Only the listed module (or a package on its path) missing is a registration mistake; a module
        # its code imports being missing is the code's, and its traceback says where.
        if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
            raise
        raise WorkflowModuleError(f"GATEHOUSE_WORKFLOWS names {path}, which cannot be imported ({exc}): check the "
                                  "spelling, and that its folder (with an __init__.py) is under the repository root."
                                  ) from None
    except GraphError as exc:  # raised by graph.node(...) and the like while the module was defined
        raise WorkflowModuleError(f"workflow module {path}: {exc}") from None


@cache
def workflows() -> dict[str, Graph]:
    found: dict[str, Graph] = {}
    origin: dict[str, str] = {}
    # A module listed twice (appended to a list that already had it) registers once.
    for path in dict.fromkeys(settings.GATEHOUSE_WORKFLOWS):
        module = _import(path)
        graphs = getattr(module, "graphs", None) or [getattr(module, "graph", None)]
        for graph in graphs:
            if not isinstance(graph, Graph):
                raise WorkflowModuleError(f"{path} has no module-level `graph = Graph(...)` (or `graphs = [...]`).")
            if found.get(graph.name) is graph:  # one graph imported into a second module: the same workflow
                continue
            if graph.name in found:
                raise WorkflowModuleError(
                    f"workflow {graph.name!r} is defined by both {origin[graph.name]} and {path}: give one of them "
                    "another name (Graph(\"...\")), or list only one of the modules in GATEHOUSE_WORKFLOWS.")
            try:
                found[graph.name] = graph.validate()
            except GraphError as exc:
                raise WorkflowModuleError(f"workflow module {path}: {exc}") from None
            origin[graph.name] = path
    return found


def workflow_get(name: str) -> Graph:
    registry = workflows()
    if name not in registry:
        raise UnknownWorkflow(name, list(registry))
    return registry[name]
