"""Tree heads are signed with Ed25519, chained, and keep verifying after the key is rotated."""

from __future__ import annotations

import base64
import dataclasses
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS
from audit.signing import (
    LedgerKeyError,
    TreeHead,
    archive_public_key,
    export_public_key_pem,
    head_bytes,
    head_hash,
    key_id,
    load_public_key_pem,
    load_signing_key,
    load_verify_keys,
    sign_head,
    verify_head,
    verify_head_with_keyring,
)


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GATEHOUSE_LEDGER_KEY", "GATEHOUSE_LEDGER_KEY_FILE", "GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path / "data"))


def make_head(private_key: Ed25519PrivateKey, seal_no: int = 1, prev_head: str = GENESIS) -> TreeHead:
    return TreeHead(
        seal_no=seal_no,
        tree_size=10 * seal_no,
        root="ab" * 32,
        first_gseq=10 * seal_no - 9,
        last_gseq=10 * seal_no,
        sealed_at="2025-06-01T12:00:00Z",
        prev_head=prev_head,
        key_id=key_id(private_key.public_key()),
    )


def pem(private_key: Ed25519PrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_a_signed_head_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    head = make_head(key)
    signature = sign_head(head, key)
    assert len(base64.b64decode(signature)) == 64
    assert verify_head(head, signature, key.public_key())


def test_the_wrong_key_fails() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    head = make_head(key)
    assert not verify_head(head, sign_head(head, key), other.public_key())


@pytest.mark.parametrize(
    "field", ["seal_no", "tree_size", "root", "first_gseq", "last_gseq", "sealed_at", "prev_head", "key_id"]
)
def test_changing_any_field_breaks_the_signature(field: str) -> None:
    key = Ed25519PrivateKey.generate()
    head = make_head(key)
    signature = sign_head(head, key)
    value = getattr(head, field)
    changed = dataclasses.replace(head, **{field: value + 1 if isinstance(value, int) else value[:-1] + "0"})
    if changed == head:
        changed = dataclasses.replace(head, **{field: value[:-1] + "1"})
    assert not verify_head(changed, signature, key.public_key())


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"x" * 64).decode(), "AAAA"])
def test_garbage_signatures_fail_quietly(signature: str) -> None:
    key = Ed25519PrivateKey.generate()
    assert not verify_head(make_head(key), signature, key.public_key())


def test_it_refuses_to_sign_a_head_naming_another_key() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="names key"):
        sign_head(make_head(other), key)


def test_heads_chain_through_their_hashes() -> None:
    key = Ed25519PrivateKey.generate()
    first = make_head(key)
    second = make_head(key, seal_no=2, prev_head=head_hash(first))
    assert second.prev_head == head_hash(first) != head_hash(second)
    assert head_bytes(first).startswith(b'{"first_gseq":1,')
    assert TreeHead.from_dict({**first.to_dict(), "signature": "x"}) == first


def test_key_id_is_16_hex_of_the_raw_public_key_hash() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    kid = key_id(key.public_key())
    assert len(kid) == 16 and int(kid, 16) >= 0
    assert kid == key_id(load_public_key_pem(export_public_key_pem(key.public_key()).encode()))


def test_rotation_old_heads_still_verify_through_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_head = make_head(old)
    old_signature = sign_head(old_head, old)

    archive_public_key(old.public_key())
    monkeypatch.setenv("GATEHOUSE_LEDGER_KEY", pem(new))
    new_head = make_head(new, seal_no=2, prev_head=head_hash(old_head))
    new_signature = sign_head(new_head, load_signing_key(allow_generate=False))

    keyring = load_verify_keys()
    assert set(keyring) == {key_id(old.public_key()), key_id(new.public_key())}
    assert verify_head_with_keyring(old_head, old_signature, keyring)
    assert verify_head_with_keyring(new_head, new_signature, keyring)
    # Without the archived key the old seal can no longer be checked.
    assert not verify_head_with_keyring(old_head, old_signature, {key_id(new.public_key()): new.public_key()})


def test_public_keys_dir_from_the_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = Ed25519PrivateKey.generate()
    keys_dir = tmp_path / "auditor-keys"
    keys_dir.mkdir()
    (keys_dir / "anything.pub.pem").write_text(export_public_key_pem(extra.public_key()))
    (keys_dir / "notes.txt").write_text("ignored")
    monkeypatch.setenv("GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR", str(keys_dir))
    assert key_id(extra.public_key()) in load_verify_keys()


def test_a_key_file_holding_several_keys_gives_every_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As `audit public-key --all` prints them: a comment line before each PEM block.
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys_dir = tmp_path / "auditor-keys"
    keys_dir.mkdir()
    (keys_dir / "all.pub.pem").write_text("".join(f"# ledger key {key_id(k.public_key())}\n"
                                                  f"{export_public_key_pem(k.public_key())}" for k in (first, second)))
    monkeypatch.setenv("GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR", str(keys_dir))
    assert set(load_verify_keys()) == {key_id(first.public_key()), key_id(second.public_key())}


def test_verifying_never_generates_a_key(tmp_path: Path) -> None:
    assert load_verify_keys() == {}
    assert not (tmp_path / "data" / "ledger" / "signing_key.pem").exists()


def test_a_development_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_signing_key()
    path = tmp_path / "data" / "ledger" / "signing_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(load_signing_key().public_key()) == key_id(first.public_key())
    assert list(load_verify_keys()) == [key_id(first.public_key())]
    assert [p.name for p in path.parent.iterdir()] == ["signing_key.pem"]  # no temp files left


def test_without_generation_a_missing_key_is_an_error() -> None:
    with pytest.raises(LedgerKeyError, match="no ledger signing key"):
        load_signing_key(allow_generate=False)


def test_key_from_base64_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = bytes(range(32))
    monkeypatch.setenv("GATEHOUSE_LEDGER_KEY", base64.b64encode(seed).decode())
    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert key_id(load_signing_key().public_key()) == key_id(expected)


def test_key_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "ledger.pem"
    path.write_text(pem(key))
    monkeypatch.setenv("GATEHOUSE_LEDGER_KEY_FILE", str(path))
    assert key_id(load_signing_key().public_key()) == key_id(key.public_key())
    assert export_public_key_pem(load_signing_key().public_key()) == export_public_key_pem(key.public_key())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEHOUSE_LEDGER_KEY": "bm90IGEga2V5"}, "not a 32-byte"),
        ({"GATEHOUSE_LEDGER_KEY": "%%%"}, "neither PEM nor base64"),
        (
            {"GATEHOUSE_LEDGER_KEY": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"},
            "not a readable",
        ),
        ({"GATEHOUSE_LEDGER_KEY_FILE": "/nonexistent/key.pem"}, "cannot be read"),
        ({"GATEHOUSE_LEDGER_KEY": "AAAA", "GATEHOUSE_LEDGER_KEY_FILE": "/x"}, "not both"),
    ],
)
def test_bad_key_configuration_fails_loudly(monkeypatch: pytest.MonkeyPatch, env: dict, message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(LedgerKeyError, match=message):
        load_signing_key()
