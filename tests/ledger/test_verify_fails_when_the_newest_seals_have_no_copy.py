"""The seal copies outside the database are what catches the newest entries deleted together with their
seals. `audit verify` pointed at a wrong or emptied seal directory used to pass with one warning per seal,
so that check silently did not happen. Now, when the copies stop short of the newest seals, verification
fails and says which directory it read and what to do. The newest seal alone may lack its copy (it is
written just after the seal commits), and a copy missing between copied seals pins nothing: both are
warnings. A seal pass writes the missing copies, after which verification passes cleanly."""

from __future__ import annotations

from audit.sealing import ledger_seal


def _seal_twice(letter_run) -> None:
    letter_run(email="one@example.com")
    assert ledger_seal() is not None
    letter_run(email="two@example.com")
    assert ledger_seal() is not None


def test_a_seal_directory_holding_none_of_the_newest_copies_fails_verification(letter_run, audit_cli,
                                                                               tmp_path):
    _seal_twice(letter_run)
    assert audit_cli("verify").returncode == 0

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = audit_cli("verify", env={"GATEHOUSE_SEAL_DIR": str(empty)})

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert (f"FAILED: seal 1 cannot be verified: seals 1-2 (the newest) have no copy in the seal directory "
            f"{empty} (GATEHOUSE_SEAL_DIR), so deleting them with the entries they cover would go unnoticed; "
            "if that is not the directory the sealer writes to, set GATEHOUSE_SEAL_DIR to it and verify again; "
            "if the copies were lost, the next seal pass (`manage.py audit seal`) writes them again from the "
            "database") in result.stderr


def test_the_newest_copy_not_yet_written_is_a_warning(letter_run, audit_cli, seal_dir):
    _seal_twice(letter_run)
    (seal_dir / "seal-00000002.json").unlink()

    result = audit_cli("verify")

    assert result.returncode == 0, result.stderr
    assert "OK:" in result.stdout
    assert "warning: seal 2 has no copy in the seal directory yet" in result.stderr


def test_a_missing_copy_between_copied_seals_is_a_warning_and_a_seal_pass_heals_it(letter_run, audit_cli,
                                                                                    seal_dir):
    _seal_twice(letter_run)
    (seal_dir / "seal-00000001.json").unlink()

    result = audit_cli("verify")
    assert result.returncode == 0, result.stderr
    assert "warning: seal 1 has no copy in the seal directory; the next seal pass writes it" in result.stderr

    assert audit_cli("seal").returncode == 0
    healed = audit_cli("verify")
    assert healed.returncode == 0 and "OK:" in healed.stdout
    assert "warning" not in healed.stderr


def test_copies_deleted_from_the_end_fail_verification_until_a_seal_pass_writes_them_again(letter_run, audit_cli,
                                                                                             seal_dir):
    _seal_twice(letter_run)
    for copy in seal_dir.glob("seal-*.json"):
        copy.unlink()

    assert audit_cli("verify").returncode == 1

    assert audit_cli("seal").returncode == 0
    healed = audit_cli("verify")
    assert healed.returncode == 0, healed.stderr
    assert "warning" not in healed.stderr
