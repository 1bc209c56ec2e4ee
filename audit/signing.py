"""Signed tree heads (Ed25519) and the keys that sign and verify them.

A seal is a ``TreeHead``: the Merkle root over every entry up to ``tree_size``, chained to the previous
seal by ``prev_head``, signed with the ledger key. Key sources, first match wins:

1. ``GATEHOUSE_LEDGER_KEY``: a PEM private key, or base64 of the raw 32-byte Ed25519 seed;
2. ``GATEHOUSE_LEDGER_KEY_FILE``: path to a PEM private key;
3. development only: ``<GATEHOUSE_DATA_DIR or .local>/ledger/signing_key.pem``, generated once (0600).

Rotation: 1. ``archive_public_key(old)`` (or copy the old ``*.pub.pem`` into ``<data dir>/ledger/keys/``),
2. configure the new key, 3. new seals carry the new ``key_id`` while old seals keep verifying through
``load_verify_keys()``, which also reads ``GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.canonical import canonical_json, sha256_hex

# Signatures cover this prefix plus the head's canonical JSON, so a ledger signature can never be
# replayed as a signature over some other JSON document that happens to share the key.
SIGNING_CONTEXT = b"gatehouse-tree-head-v1\n"


class LedgerKeyError(Exception):
    """The ledger key is missing, unreadable, or not Ed25519. Messages never include key material."""


@dataclass(frozen=True)
class TreeHead:
    seal_no: int  # 1, 2, 3, ...
    tree_size: int  # leaves (entries, in gseq order) covered by root
    root: str  # hex Merkle root of the first tree_size leaves
    first_gseq: int  # the entries this seal added to the tree: first_gseq..last_gseq
    last_gseq: int
    sealed_at: str  # ISO-8601 UTC
    prev_head: str  # head_hash of seal_no - 1, or GENESIS for the first seal
    key_id: str  # key_id of the signing key

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeHead:
        """Build from a mapping holding at least the head's fields (extra keys, e.g. signature, ignored)."""
        return cls(**{field.name: data[field.name] for field in fields(cls)})


def head_bytes(head: TreeHead) -> bytes:
    return canonical_json(head.to_dict())


def head_hash(head: TreeHead) -> str:
    return sha256_hex(head_bytes(head))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_head(head: TreeHead, private_key: Ed25519PrivateKey) -> str:
    # A head naming one key but signed by another would verify under neither keyring entry.
    if head.key_id != key_id(private_key.public_key()):
        raise ValueError(
            f"head names key {head.key_id}, but the signing key is {key_id(private_key.public_key())}"
        )
    return base64.b64encode(private_key.sign(SIGNING_CONTEXT + head_bytes(head))).decode("ascii")


def verify_head(head: TreeHead, signature: str, public_key: Ed25519PublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, SIGNING_CONTEXT + head_bytes(head))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def verify_head_with_keyring(head: TreeHead, signature: str, keyring: Mapping[str, Ed25519PublicKey]) -> bool:
    """Verify with whichever key the head names; False if that key is unknown (e.g. not yet archived)."""
    public_key = keyring.get(head.key_id)
    return public_key is not None and verify_head(head, signature, public_key)


# --- Other signed documents ---
# Each kind of document the ledger key signs besides tree heads has its own context prefix (the seals'
# chains: audit/sealing.py CHAINS_CONTEXT; export manifests: this one), so a signature over one kind can
# never be replayed as a signature over another, nor as a tree head's.
MANIFEST_CONTEXT = b"gatehouse-export-manifest-v1\n"


def sign_document(context: bytes, document: Mapping[str, Any], private_key: Ed25519PrivateKey) -> str:
    """base64 Ed25519 signature over ``context`` + the document's canonical JSON."""
    return base64.b64encode(private_key.sign(context + canonical_json(document))).decode("ascii")


def verify_document(context: bytes, document: Mapping[str, Any], signature: str, public_key: Any) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), context + canonical_json(document))
    except Exception:  # noqa: BLE001 - any failure to verify (no key, bad base64, unencodable document) is "not valid"
        return False
    return True


# --- Keys ---


def ledger_dir(data_dir: Path | None = None) -> Path:
    # Mirrors config.embedded.data_dir_from_env without importing config, so this module stays standalone.
    base = data_dir or Path(
        os.environ.get("GATEHOUSE_DATA_DIR") or Path(__file__).resolve().parent.parent / ".local"
    )
    return base.resolve() / "ledger"


def _private_from_pem(data: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerKeyError(f"{source} is not a readable unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerKeyError(f"{source} holds a {type(key).__name__}, and the ledger needs an Ed25519 key")
    return key


def _configured_key() -> Ed25519PrivateKey | None:
    value = os.environ.get("GATEHOUSE_LEDGER_KEY", "").strip()
    path = os.environ.get("GATEHOUSE_LEDGER_KEY_FILE", "").strip()
    if value and path:
        raise LedgerKeyError("set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE, not both")
    if value.startswith("-----BEGIN"):
        return _private_from_pem(value.encode("ascii", "replace"), source="GATEHOUSE_LEDGER_KEY")
    if value:
        try:
            seed = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerKeyError("GATEHOUSE_LEDGER_KEY is neither PEM nor base64") from exc
        if len(seed) != 32:
            raise LedgerKeyError(
                f"GATEHOUSE_LEDGER_KEY decodes to {len(seed)} bytes, not a 32-byte Ed25519 seed"
            )
        return Ed25519PrivateKey.from_private_bytes(seed)
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise LedgerKeyError(f"GATEHOUSE_LEDGER_KEY_FILE {path} cannot be read: {exc.strerror}") from exc
        return _private_from_pem(data, source=f"GATEHOUSE_LEDGER_KEY_FILE {path}")
    return None


def _write_new_dev_key(path: Path) -> None:
    """Generate once, even when two processes start together: write a private temp file, then link it
    into place, which fails (harmlessly) for whichever process comes second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_signing_key(*, allow_generate: bool = True, data_dir: Path | None = None) -> Ed25519PrivateKey:
    """The ledger's signing key; see the module docstring for where it comes from.

    Pass ``allow_generate=False`` outside development so a missing key is an error, not a fresh key
    that no auditor has ever seen.
    """
    configured = _configured_key()
    if configured is not None:
        return configured
    path = ledger_dir(data_dir) / "signing_key.pem"
    if not path.exists():
        if not allow_generate:
            raise LedgerKeyError(
                "no ledger signing key: set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE (make one with "
                "`openssl genpkey -algorithm ed25519 -out ledger.pem`, kept secret, the same on every host)"
            )
        _write_new_dev_key(path)
    return _private_from_pem(path.read_bytes(), source=str(path))


def load_public_key_pem(data: bytes, *, source: str = "public key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise LedgerKeyError(f"{source} is not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerKeyError(f"{source} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def load_verify_keys(*, data_dir: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """{key_id: public key} for the current key and every archived one.

    Never generates a key: verifying must not quietly create the key it then trusts.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    current = _configured_key()
    dev_key = ledger_dir(data_dir) / "signing_key.pem"
    if current is None and dev_key.exists():
        current = _private_from_pem(dev_key.read_bytes(), source=str(dev_key))
    if current is not None:
        keys[key_id(current.public_key())] = current.public_key()
    directories = [ledger_dir(data_dir) / "keys"]
    if os.environ.get("GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR"):
        directories.append(Path(os.environ["GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR"]))
    for directory in directories:
        for path in sorted(directory.glob("*.pub.pem")) if directory.is_dir() else []:
            # The id comes from the key itself, never from the file name.
            public_key = load_public_key_pem(path.read_bytes(), source=str(path))
            keys[key_id(public_key)] = public_key
    return keys


def export_public_key_pem(public_key: Ed25519PublicKey | None = None) -> str:
    """PEM of ``public_key`` (default: the current signing key's), for auditors and the offline verifier."""
    if public_key is None:
        public_key = load_signing_key().public_key()
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def archive_public_key(public_key: Ed25519PublicKey, *, data_dir: Path | None = None) -> Path:
    """Keep a (retiring) key's public half in ``<data dir>/ledger/keys/`` so its seals still verify."""
    directory = ledger_dir(data_dir) / "keys"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key_id(public_key)}.pub.pem"
    path.write_text(export_public_key_pem(public_key))
    return path
