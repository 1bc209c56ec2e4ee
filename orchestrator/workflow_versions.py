"""The first run of each workflow version is a ledger entry in the system chain.

Gates are code: which nodes stop for a person, where a rejection or a response leads, and (in the
node's request function) who reviews and how many approvals it takes. So a gate policy changes
only with a new workflow version, and recording each version when it first runs puts every such
change in the ledger, with what it replaced and which nodes stop.
"""

from __future__ import annotations

from typing import Any

from orchestrator.graph import Graph
from orchestrator.models import WorkflowVersion


def workflow_version_record(graph: Graph, *, actor: str | None) -> bool:
    """Record `graph`'s version if no run has used it yet (call inside the transaction that starts,
    forks or upgrades the run); True if this call recorded it."""
    from audit.services import system_ledger_append

    # get_or_create inserts under a savepoint: of two transactions starting the same new version,
    # one waits on the unique index and finds the other's row, so the version is recorded once.
    _, created = WorkflowVersion.objects.get_or_create(workflow=graph.name, version=graph.version)
    if created:
        previous = (WorkflowVersion.objects.filter(workflow=graph.name).exclude(version=graph.version)
                    .order_by("-first_run_at", "-pk").values_list("version", flat=True).first())
        system_ledger_append(kind="workflow_version_first_run", actor=actor, payload={
            "workflow": graph.name, "version": graph.version, "previous": previous or "",
            "structure_changed": bool(previous) and previous.split(".")[0] != graph.version.split(".")[0],
            "gates": _gates(graph),
        })
    return created


def _gates(graph: Graph) -> list[dict[str, Any]]:
    stops = []
    for node in sorted(graph.nodes.values(), key=lambda n: n.name):
        where = [w for w, on in (("gate", node.is_gate), ("before", node.interrupt_before),
                                 ("after", node.interrupt_after)) if on]
        if where:
            stops.append({"node": node.name, "stops": where, "on_reject": node.on_reject,
                          "on_respond": node.on_respond or ""})
    return stops
