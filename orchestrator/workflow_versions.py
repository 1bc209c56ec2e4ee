"""A change of the workflow version in use is a ledger entry in the system chain.

Gates are code: which nodes stop for a person and where a rejection or a response leads (the
graph's structure), and who reviews and how many approvals it takes (the gate's request function).
A workflow's version hashes both, so a changed gate shows as a new version, and recording every
change of the version in use (a deploy, and a revert to an older one) puts it in the ledger with
the version it replaced and the nodes that now stop. (The version covers the source of the node,
router and request functions, not helpers or settings they read: a policy kept there changes
without a new version.)
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestrator.graph import Graph, versions_compatible
from orchestrator.models import WorkflowInUse

log = logging.getLogger(__name__)

# (workflow, version) pairs this process has seen in use: its code cannot change while it runs,
# so a worker checks once per version, not on every claim (see workflow_version_seen).
_SEEN: set[tuple[str, str]] = set()


def workflow_version_record(graph: Graph, *, actor: str | None) -> bool:
    """Record `graph`'s version as the one in use, with a ledger entry if that changes it. Call it
    inside the transaction that starts, forks or upgrades a run. True if it recorded a change."""
    from audit.services import system_chain_lock, system_ledger_append

    if WorkflowInUse.objects.filter(workflow=graph.name, version=graph.version).exists():
        return False
    # Under the system chain's lock, two changes at once are recorded one after the other, each
    # with the version it really replaced (the second re-reads after the first has committed).
    system_chain_lock()
    previous = WorkflowInUse.objects.filter(workflow=graph.name).values_list("version", flat=True).first() or ""
    if previous == graph.version:
        return False
    # The row was just read under the lock: save() updates it (or inserts the first), no re-read.
    WorkflowInUse(workflow=graph.name, version=graph.version, since=timezone.now()).save()
    system_ledger_append(kind="workflow_version_changed", actor=actor, payload={
        "workflow": graph.name, "version": graph.version, "previous": previous,
        "structure_changed": bool(previous) and not versions_compatible(previous, graph.version),
        "gates": _gates(graph),
    })
    return True


def workflow_version_seen(graph: Graph) -> None:
    """A worker about to run `graph`'s code for a claimed run: record its version if it is not the
    one in use (a run that started before a deploy, or a revert). Once per version per process.
    A failure is logged, not raised: the run goes on, and the next start or worker records it."""
    key = (graph.name, graph.version)
    if key in _SEEN:
        return
    try:
        with transaction.atomic():
            workflow_version_record(graph, actor=None)
    except Exception:
        log.exception("could not record workflow %s version %s as in use", graph.name, graph.version)
        return
    _SEEN.add(key)


def workflow_versions_forget() -> None:
    """Forget what this process has seen (tests, after the database is emptied under it)."""
    _SEEN.clear()


def _gates(graph: Graph) -> list[dict[str, Any]]:
    stops = []
    for node in sorted(graph.nodes.values(), key=lambda n: n.name):
        where = [w for w, on in (("gate", node.is_gate), ("before", node.interrupt_before),
                                 ("after", node.interrupt_after)) if on]
        if where:
            stops.append({"node": node.name, "stops": where, "on_reject": node.on_reject,
                          "on_respond": node.on_respond or ""})
    return stops
