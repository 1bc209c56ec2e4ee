"""Eight workflows appending at once from real worker processes, while a real sealer seals every
fraction of a second: no chain forks, no false break, and the seals end up covering every entry."""

from __future__ import annotations

import subprocess
import sys

from audit.models import LedgerEntry, Seal
from orchestrator.models import Run
from orchestrator.services import run_start
from tests.workers import ROOT


def test_eight_concurrent_workflows_verify_and_are_fully_sealed(ledger_workflows, seal_dir, audit_cli,
                                                                start_worker, wait_for):
    runs = [run_start(workflow="ledger_letter", input={"customer_email": f"c{n}@example.com"}) for n in range(8)]
    sealer = subprocess.Popen([sys.executable, "manage.py", "audit", "seal", "--loop", "--every", "0.2"],
                              cwd=ROOT, env=audit_cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_for(lambda: Seal.objects.exists(), timeout=60, what="the sealer's first seal")
        for _ in range(3):
            start_worker()
        ids = [r.pk for r in runs]
        wait_for(lambda: Run.objects.filter(pk__in=ids, status="completed").count() == 8, timeout=120,
                 what="8 runs to complete")
        total = LedgerEntry.objects.count()
        wait_for(lambda: (Seal.objects.order_by("-seal_no").values_list("tree_size", flat=True).first() or 0)
                 == total, timeout=30, what="the sealer to cover every entry")
    finally:
        sealer.terminate()
        sealer.wait(timeout=30)

    # 8 runs x 8 entries, and the system chain's record of the workflow version coming into use.
    assert total == 8 * 8 + 1
    assert Seal.objects.count() > 1, "the sealer should have sealed while the workers were writing"
    # Every chain is whole and numbered 1..8, with no two entries sharing a number.
    for run in Run.objects.filter(pk__in=ids):
        assert list(LedgerEntry.objects.filter(chain=run.thread_id).order_by("seq_run")
                    .values_list("seq_run", flat=True)) == list(range(1, 9))
        assert run.ledger_len == 8
    result = audit_cli("verify")
    assert result.returncode == 0, result.stderr
    assert f"{total} entries" in result.stdout
    assert len(list(seal_dir.glob("seal-*.json"))) == Seal.objects.count()
