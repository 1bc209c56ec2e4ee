"""Rotating the ledger key the way the README says (`audit archive-key`, switch the key, restart, verify)
keeps every seal verifiable, here and offline (`audit public-key --all` hands the auditor every key). A
public key saved under a name the keys directory does not read (`ledger-1.pem`, not `*.pub.pem`) is named
in a warning instead of silently ignored, and a seal signed by a key this installation does not know is
"unverifiable", with what to do, never called modified: that word stays for real tampering."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.models import Seal, VerificationRun
from audit.signing import key_id
from tests.ledger.conftest import offline, refusal, tamper
from tests.workers import ROOT

KEY_VARIABLES = ("GATEHOUSE_LEDGER_KEY", "GATEHOUSE_LEDGER_KEY_FILE", "GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR")


class Key:
    """An Ed25519 ledger key in a PEM file, as an operator keeps one."""

    def __init__(self, path: Path) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.path = path
        path.write_bytes(self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        self.id = key_id(self.private.public_key())
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def seed(self) -> str:
        """The key as GATEHOUSE_LEDGER_KEY also takes it: base64 of its 32-byte seed."""
        raw = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption())
        return base64.b64encode(raw).decode()


@pytest.fixture
def old(tmp_path) -> Key:
    return Key(tmp_path / "ledger-old.pem")


@pytest.fixture
def new(tmp_path) -> Key:
    return Key(tmp_path / "ledger-new.pem")


@pytest.fixture
def keys_dir(tmp_path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def audit_as(audit_cli, keys_dir):
    """audit_as(key, "verify") -> `manage.py audit verify` run with `key` configured (GATEHOUSE_LEDGER_KEY_FILE,
    or a string: GATEHOUSE_LEDGER_KEY) and GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR=keys_dir, as after a restart."""

    def run(key: Key | str | None, *args: str, **env: str) -> subprocess.CompletedProcess:
        base = {name: value for name, value in audit_cli.env.items() if name not in KEY_VARIABLES}
        base["GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR"] = str(keys_dir)
        if isinstance(key, Key):
            base["GATEHOUSE_LEDGER_KEY_FILE"] = str(key.path)
        elif key is not None:
            base["GATEHOUSE_LEDGER_KEY"] = key
        return subprocess.run([sys.executable, "manage.py", "audit", *args], cwd=ROOT, env={**base, **env},
                              capture_output=True, text=True, timeout=120)

    return run


def _sealed(result: subprocess.CompletedProcess, seal_no: int, key: Key) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"sealed {seal_no}: ") and result.stdout.rstrip().endswith(f"key {key.id}")


def _unknown(seal: int, key: Key, keys_dir: Path, fix: str) -> str:
    return (f"seal {seal} was signed with key {key.id}, which is unknown to this installation (it is not the "
            f"current ledger key, and no *.pub.pem file in {_dirs(keys_dir)} holds it), so its signatures cannot "
            f"be checked; {fix}, then verify again")


def _dirs(keys_dir: Path) -> str:
    from django.conf import settings

    return f"{Path(settings.DATA_DIR).resolve() / 'ledger' / 'keys'} or {keys_dir}"


def test_the_rotation_procedure_keeps_every_seal_verifiable_here_and_offline(letter_run, audit_as, old, new,
                                                                            keys_dir, exporter, tmp_path):
    letter_run()
    _sealed(audit_as(old, "seal"), 1, old)

    # 1. Archive the current key, before switching: under the name the keys directory reads. Idempotent.
    archived = audit_as(old, "archive-key")
    path = keys_dir / f"{old.id}.pub.pem"
    assert archived.returncode == 0 and archived.stderr == "", archived.stderr
    assert archived.stdout == (f"archived key {old.id} (the current ledger key) in {path}: the seals it signed "
                               "keep verifying once another key is configured\n")
    assert path.read_text() == old.public_pem
    again = audit_as(old, "archive-key")
    assert again.returncode == 0
    assert again.stdout == f"key {old.id} (the current ledger key) is already archived in {path}: nothing changed\n"
    assert sorted(p.name for p in keys_dir.iterdir()) == [path.name]

    # 2.-3. Switch to the new key and restart: new seals are signed with it.
    letter_run()
    _sealed(audit_as(new, "seal"), 2, new)

    # 4. Verify: the old seal through the archived key, the new one through the current key.
    verified = audit_as(new, "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""
    assert "and 2 seals verified (all)" in verified.stdout

    # 5. Hand the auditor every key: one file, one PEM block a key, each named.
    every = audit_as(new, "public-key", "--all")
    assert every.returncode == 0, every.stderr
    assert every.stdout == (f"# ledger key {new.id} (current: signs new seals)\n{new.public_pem}"
                            f"# ledger key {old.id} (archived: {old.id}.pub.pem)\n{old.public_pem}")
    assert every.stderr == ("2 keys: give the offline verifier this output as a file (--public-key KEYS.pem reads "
                            "every key in it)\n")
    all_keys, new_only = tmp_path / "ledger-keys.pem", tmp_path / "new.pub.pem"
    all_keys.write_text(every.stdout)
    new_only.write_text(audit_as(new, "public-key").stdout)

    # Every run: the export carries both seals (a one-run export carries only the seals its run's entries are in).
    export = tmp_path / "export.jsonl"
    made = audit_as(new, "export", "--format", "jsonl", "-o", str(export), "--as", exporter.username)
    assert made.returncode == 0, made.stderr
    checked = offline(export, all_keys)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("OK: ")
    # The same export with the old key as its own --public-key, as before: repeated keys still work.
    old_only = tmp_path / "old.pub.pem"
    old_only.write_text(old.public_pem)
    assert offline(export, new_only, "--public-key", str(old_only)).returncode == 0
    # Without the old key the offline verifier cannot check seal 1, and says where to get every key.
    short = offline(export, new_only)
    assert short.returncode == 1
    assert (f"seal 1 was signed by key {old.id}, which is not among the public keys given: pass every key the "
            "ledger has used (Gatehouse's `manage.py audit public-key --all` prints them)") in short.stdout


def test_a_public_key_saved_under_another_name_is_named_not_silently_ignored(letter_run, audit_as, old, new,
                                                                            keys_dir):
    letter_run()
    _sealed(audit_as(old, "seal"), 1, old)
    keys_dir.mkdir()
    # What the operator did: `audit public-key > keys/ledger-1.pem`, then switched keys.
    (keys_dir / "ledger-1.pem").write_text(audit_as(old, "public-key").stdout)
    letter_run()
    _sealed(audit_as(new, "seal"), 2, new)

    result = audit_as(new, "verify")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "modified" not in result.stderr
    misnamed = keys_dir / "ledger-1.pem"
    finding = _unknown(1, old, keys_dir, f"{misnamed} holds it but is not read (only files named *.pub.pem are): "
                                         "rename it to ledger-1.pub.pem")
    assert result.stderr.splitlines() == [
        f"warning: {misnamed} is not read: public keys are read only from files named *.pub.pem, and it holds key "
        f"{old.id}; rename it to ledger-1.pub.pem",
        f"FAILED: seal 1 cannot be verified: {finding}",
    ]
    assert VerificationRun.objects.latest("id").problem == "unverifiable"

    misnamed.rename(keys_dir / "ledger-1.pub.pem")
    fixed = audit_as(new, "verify")
    assert fixed.returncode == 0 and fixed.stderr == "", fixed.stderr


def test_a_key_nobody_archived_is_unknown_and_archive_key_with_it_configured_fixes_that(letter_run, audit_as,
                                                                                        old, new, keys_dir):
    letter_run()
    _sealed(audit_as(old.seed(), "seal"), 1, old)  # the old key given as a base64 seed
    letter_run()
    _sealed(audit_as(new, "seal"), 2, new)
    letter_run()
    _sealed(audit_as(new, "seal"), 3, new)

    result = audit_as(new, "verify")
    assert result.returncode == 1
    finding = _unknown(1, old, keys_dir, f"if it is a retired ledger key, archive its public key: save it as "
                                         f"{keys_dir / (old.id + '.pub.pem')}, or run `manage.py audit archive-key` "
                                         "with that key configured (GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE)")
    assert result.stderr.splitlines() == [f"FAILED: seal 1 cannot be verified: {finding}"]

    # Several seals by one unknown key are one finding naming them all (here: the old key configured again).
    other = audit_as(old, "verify")
    assert other.returncode == 1
    assert f"FAILED: seal 2 cannot be verified: seals 2-3 were signed with key {new.id}, which is unknown" in (
        other.stderr)

    assert audit_as(old.seed(), "archive-key").returncode == 0
    assert audit_as(new, "verify").returncode == 0


def test_a_forged_seal_signature_is_still_called_modified(letter_run, audit_as, old):
    letter_run()
    _sealed(audit_as(old, "seal"), 1, old)
    tamper("UPDATE audit_seal SET signature = %s WHERE seal_no = 1", [base64.b64encode(bytes(64)).decode()])

    result = audit_as(old, "verify")
    assert result.returncode == 1
    assert ("FAILED: seal 1 was modified: seal 1 is not validly signed: its signature does not match its contents"
            in result.stderr)
    assert "unverifiable" not in result.stderr


def test_in_development_every_key_command_names_the_key_the_first_seal_will_use(audit_as, keys_dir, tmp_path):
    # No key configured, no seal yet: the development key is made once, and each command names that one.
    fresh = {"GATEHOUSE_DATA_DIR": str(tmp_path / "fresh-data")}
    single = audit_as(None, "public-key", **fresh)
    assert single.returncode == 0, single.stderr
    every = audit_as(None, "public-key", "--all", **fresh)
    assert every.returncode == 0, every.stderr
    (block,) = every.stdout.split("# ledger key ")[1:]
    kid = block.split(" ", 1)[0]
    assert block == f"{kid} (current: signs new seals)\n{single.stdout}"
    archived = audit_as(None, "archive-key", **fresh)
    assert archived.returncode == 0, archived.stderr
    assert archived.stdout.startswith(f"archived key {kid} (the current ledger key) in {keys_dir / f'{kid}.pub.pem'}")
    assert (keys_dir / f"{kid}.pub.pem").read_text() == single.stdout


def test_archive_key_refuses_in_one_line_what_it_cannot_do(letter_run, audit_as, old, new, keys_dir, tmp_path):
    # A deployment with no key configured: nothing to archive, and no key to list (none is made up).
    empty = {"GATEHOUSE_DATA_DIR": str(tmp_path / "fresh-data"), "GATEHOUSE_LEDGER_KEY_REQUIRED": "1"}
    assert refusal(audit_as(None, "public-key", **empty)).startswith("no ledger signing key: set GATEHOUSE_LEDGER_KEY")
    assert refusal(audit_as(None, "archive-key", **empty)) == (
        "no ledger key to archive: set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE to the key seals are "
        "signed with, then run it again")
    assert refusal(audit_as(None, "public-key", "--all", **empty)) == (
        "no ledger key: none is configured (GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE) and none is "
        f"archived in {keys_dir}")

    # The key's file name taken by another key: never overwritten.
    keys_dir.mkdir()
    taken = keys_dir / f"{old.id}.pub.pem"
    taken.write_text(new.public_pem)
    assert refusal(audit_as(old, "archive-key")) == (
        f"{taken} exists but does not hold key {old.id}: move it aside, then archive the key again")
    assert taken.read_text() == new.public_pem

    # A keys directory that is a file.
    shutil.rmtree(keys_dir)
    keys_dir.write_text("")
    assert refusal(audit_as(old, "archive-key")) == (
        f"cannot archive key {old.id} in {keys_dir} (it is not a directory): make it a directory this process can "
        "write, or set GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR to one")
    assert Seal.objects.count() == 0


def test_keys_made_as_the_readme_says_are_accepted(audit_as, tmp_path):
    pem = tmp_path / "ledger.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True)
    public = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout"], check=True, capture_output=True,
                            text=True).stdout
    from_file = audit_as(None, "public-key", GATEHOUSE_LEDGER_KEY_FILE=str(pem))
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == public

    seed = subprocess.run(["openssl", "rand", "-base64", "32"], check=True, capture_output=True, text=True).stdout
    from_seed = audit_as(seed.strip(), "public-key")
    assert from_seed.returncode == 0, from_seed.stderr
    assert from_seed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
