"""A seal directory that cannot be written (GATEHOUSE_SEAL_DIR naming a file, or a path under one) is said in
one line naming the directory and what to do: `audit seal` exits 1 after saying which seals it made (they
are kept in the database), and `audit seal --loop` warns once a pass, never a traceback. Every pass writes
the copies still missing, of earlier seals too, so fixing the directory heals them without waiting for
new entries. (`audit seal` printed a NotADirectoryError traceback, and the loop one traceback, then nothing,
the copies waiting for the next seal.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from audit.models import Seal
from audit.sealing import seal_document
from tests.ledger.conftest import refusal
from tests.workers import ROOT


def _said(seal_dir, why: str, missing: str = "1 seal has") -> str:
    return (f"cannot write seal copies to {seal_dir} (GATEHOUSE_SEAL_DIR): {why}. The seals are kept in the "
            f"database but {missing} no copy outside it: make that path a directory this process can write, or set "
            "GATEHOUSE_SEAL_DIR to one; the next seal pass writes every missing copy")


def _copy(seal_dir, seal_no: int) -> dict:
    return json.loads((seal_dir / f"seal-{seal_no:08d}.json").read_bytes())


@pytest.mark.parametrize("broken", ["a file", "a path under a file"])
def test_audit_seal_says_what_to_do_in_one_line_and_the_next_pass_heals_the_copies(letter_run, audit_cli,
                                                                                     seal_dir, broken):
    letter_run()
    if broken == "a file":
        seal_dir.write_text("not a directory")
        target, why = seal_dir, "it is a file, not a directory"
    else:
        seal_dir.mkdir()
        (seal_dir / "file").write_text("")
        target, why = seal_dir / "file" / "seals", "not a directory"
    env = {"GATEHOUSE_SEAL_DIR": str(target)}

    first = _seal(audit_cli, env)
    assert refusal(first) == _said(target, why)
    assert first.stdout.startswith("sealed 1: ")  # the seal was made, and kept
    assert Seal.objects.count() == 1

    # Nothing new to seal: the pass still tries the missing copy, and still says why it cannot.
    again = _seal(audit_cli, env)
    assert refusal(again) == _said(target, why)
    assert again.stdout == "nothing to seal: every entry is already sealed\n"

    # Fixed: the next pass writes the copy of the earlier seal, with no new entry to seal.
    if broken == "a file":
        seal_dir.unlink()
    else:
        (seal_dir / "file").unlink()
    healed = _seal(audit_cli, env)
    assert healed.returncode == 0, healed.stderr
    assert healed.stdout == ("nothing to seal: every entry is already sealed\n"
                             f"wrote 1 missing copy of earlier seals to {target}\n")
    assert _copy(target, 1) == json.loads(json.dumps(seal_document(Seal.objects.get())))

    verify = _audit(audit_cli, env, "verify")
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr  # no "has no copy" warning


def _audit(audit_cli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return audit_cli(*args, env=env)


def _seal(audit_cli, env: dict[str, str]) -> subprocess.CompletedProcess:
    return _audit(audit_cli, env, "seal")


def test_the_loop_warns_once_a_pass_and_heals_once_the_directory_is_fixed(letter_run, audit_cli, seal_dir,
                                                                          tmp_path, wait_for):
    letter_run()
    seal_dir.write_text("not a directory")
    out, err = tmp_path / "loop.out", tmp_path / "loop.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        loop = subprocess.Popen([sys.executable, "manage.py", "audit", "seal", "--loop", "--every", "0.3"], cwd=ROOT,
                                env=audit_cli.env, stdout=stdout, stderr=stderr, text=True)
    try:
        wait_for(lambda: len(_copy_warnings(err)) >= 3, timeout=60, what="three passes' warnings")
        assert Seal.objects.count() == 1  # sealed on the first pass all the same

        seal_dir.unlink()  # fixed; no new entry follows
        wait_for(lambda: (seal_dir / "seal-00000001.json").exists(), timeout=60, what="the missing copy")
        wait_for(lambda: "wrote 1 missing seal copy" in out.read_text(), timeout=60,
                 what="the loop saying it wrote it")
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.wait(timeout=60)
    assert loop.returncode == 0

    warnings = _copy_warnings(err)
    assert "Traceback" not in err.read_text()
    assert len(warnings) >= 3 and set(warnings) == {_said(seal_dir, "it is a file, not a directory")}
    # Besides them, at most the sealer's note that a transaction (another test's) kept it waiting.
    assert all(line in warnings or line.endswith("so sealing waits for it") for line in err.read_text().splitlines())
    assert out.read_text().splitlines() == ["sealing every 0.3s until SIGTERM or Ctrl-C",
                                            out.read_text().splitlines()[1],
                                            f"wrote 1 missing seal copy to {seal_dir}"]
    assert out.read_text().splitlines()[1].startswith("sealed 1: ")
    assert _copy(seal_dir, 1) == json.loads(json.dumps(seal_document(Seal.objects.get())))


def _copy_warnings(err) -> list[str]:
    return [line for line in err.read_text().splitlines() if line.startswith("cannot write seal copies")]
