"""Signed tree heads (Ed25519) and the keys that sign and verify them.

A seal is a ``TreeHead``: the Merkle root over every entry up to ``tree_size``, chained to the previous
seal by ``prev_head``, signed with the ledger key. Key sources, first match wins:

1. ``GATEHOUSE_LEDGER_KEY``: a PEM private key, or base64 of the raw 32-byte Ed25519 seed;
2. ``GATEHOUSE_LEDGER_KEY_FILE``: path to a PEM private key;
3. development only: ``<GATEHOUSE_DATA_DIR or .local>/ledger/signing_key.pem``, generated once (0600).

Rotation (README.md, "Audit ledger", gives the steps): 1. ``manage.py audit archive-key`` while the old key is
still configured (``archive_public_key``: ``<kid>.pub.pem`` in ``public_keys_dir()``), 2. configure the new key,
3. new seals carry the new ``key_id`` while old seals keep verifying through ``load_verify_keys()``, which
reads every ``*.pub.pem`` in ``<data dir>/ledger/keys/`` and ``GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR``. Other
``.pem`` files there are not read (``key_files_ignored`` says which, so ``audit verify`` can warn of them).
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
from audit.offline_verifier import PUBLIC_PEM_BLOCK

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
    current = _current_private_key(data_dir)
    if current is not None:
        return current
    if not allow_generate:
        raise LedgerKeyError(
            "no ledger signing key: set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE (make one with "
            "`openssl genpkey -algorithm ed25519 -out ledger.pem`, kept secret, the same on every host)"
        )
    path = _dev_key_path(data_dir)
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


def load_public_keys_pem(data: bytes, *, source: str = "public key") -> list[Ed25519PublicKey]:
    """Every public key in ``data``: one PEM block or several (a PEM loader alone reads only the first)."""
    blocks = PUBLIC_PEM_BLOCK.findall(data) or [data]
    return [load_public_key_pem(block, source=source) for block in blocks]


def _dev_key_path(data_dir: Path | None = None) -> Path:
    return ledger_dir(data_dir) / "signing_key.pem"


def _current_private_key(data_dir: Path | None = None) -> Ed25519PrivateKey | None:
    """The configured key, else the development key if one was generated; never generates one."""
    current = _configured_key()
    dev_key = _dev_key_path(data_dir)
    if current is None and dev_key.exists():
        current = _private_from_pem(dev_key.read_bytes(), source=str(dev_key))
    return current


def current_public_key(*, data_dir: Path | None = None) -> Ed25519PublicKey | None:
    """The public half of the key new seals are signed with, None when there is none yet."""
    current = _current_private_key(data_dir)
    return current.public_key() if current is not None else None


def public_keys_dir(data_dir: Path | None = None) -> Path:
    """Where archived public keys go: ``GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR``, else ``<data dir>/ledger/keys/``."""
    configured = os.environ.get("GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR", "").strip()
    return Path(configured).resolve() if configured else ledger_dir(data_dir) / "keys"


def public_key_dirs(data_dir: Path | None = None) -> list[Path]:
    """Every directory archived public keys are read from: the data dir's, and the configured one."""
    directories = [ledger_dir(data_dir) / "keys"]
    if public_keys_dir(data_dir) not in directories:
        directories.append(public_keys_dir(data_dir))
    return directories


def archived_public_keys(*, data_dir: Path | None = None) -> dict[str, tuple[Ed25519PublicKey, Path]]:
    """{key_id: (public key, the file holding it)} for every key in a ``*.pub.pem`` of ``public_key_dirs()``."""
    keys: dict[str, tuple[Ed25519PublicKey, Path]] = {}
    for directory in public_key_dirs(data_dir):
        for path in sorted(directory.glob("*.pub.pem")) if directory.is_dir() else []:
            # The id comes from the key itself, never from the file name.
            for public_key in load_public_keys_pem(path.read_bytes(), source=str(path)):
                keys.setdefault(key_id(public_key), (public_key, path))
    return keys


def load_verify_keys(*, data_dir: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """{key_id: public key} for the current key and every archived one.

    Never generates a key: verifying must not quietly create the key it then trusts.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    current = current_public_key(data_dir=data_dir)
    if current is not None:
        keys[key_id(current)] = current
    for kid, (public_key, _path) in archived_public_keys(data_dir=data_dir).items():
        keys.setdefault(kid, public_key)
    return keys


@dataclass(frozen=True)
class IgnoredKeyFile:
    """A ``.pem`` file in a public keys directory that is not read, because it is not named ``*.pub.pem``."""

    path: Path
    key_ids: tuple[str, ...]  # the public keys it holds (renamed, it would be read)
    private: bool  # it holds a private key: it has no business there

    def warning(self) -> str:
        if self.key_ids:
            return (f"{self.path} is not read: public keys are read only from files named *.pub.pem, and it holds "
                    f"key {', '.join(self.key_ids)}; rename it to {self.path.name.removesuffix('.pem')}.pub.pem")
        if self.private:
            return (f"{self.path} holds a private key and is not read (only *.pub.pem files are): keep private "
                    "keys out of the public keys directory")
        return f"{self.path} is not read: public keys are read only from files named *.pub.pem"


def key_files_ignored(*, data_dir: Path | None = None) -> list[IgnoredKeyFile]:
    """The ``.pem`` files of ``public_key_dirs()`` that ``load_verify_keys`` does not read."""
    ignored = []
    for directory in public_key_dirs(data_dir):
        for path in sorted(directory.glob("*.pem")) if directory.is_dir() else []:
            if path.name.endswith(".pub.pem") or not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            kids: tuple[str, ...] = ()
            with contextlib.suppress(LedgerKeyError):
                kids = tuple(key_id(key) for key in load_public_keys_pem(data, source=str(path)))
            ignored.append(IgnoredKeyFile(path, kids, private=b"PRIVATE KEY-----" in data))
    return ignored


def export_public_key_pem(public_key: Ed25519PublicKey) -> str:
    """PEM of ``public_key``, for auditors and the offline verifier. No default: which key is current
    (and whether one may be generated) is the sealer's rule, audit.sealing.ledger_signing_key."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@dataclass(frozen=True)
class ArchivedKey:
    key_id: str
    path: Path  # the *.pub.pem file that holds it
    written: bool  # False: it was archived already, nothing changed


def archive_public_key(public_key: Ed25519PublicKey, *, data_dir: Path | None = None) -> ArchivedKey:
    """Keep a (retiring) key's public half as ``<key_id>.pub.pem`` in ``public_keys_dir()``, so the seals it
    signed still verify once another key signs. Idempotent: a key some ``*.pub.pem`` already holds is left
    where it is; an existing file of that name holding something else is refused, never overwritten."""
    kid = key_id(public_key)
    archived = archived_public_keys(data_dir=data_dir)
    if kid in archived:
        return ArchivedKey(kid, archived[kid][1], written=False)
    directory = public_keys_dir(data_dir)
    path = directory / f"{kid}.pub.pem"
    if path.exists() or path.is_symlink():
        raise LedgerKeyError(f"{path} exists but does not hold key {kid}: move it aside, then archive the key again")
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Written beside, then linked into place: a reader never sees half a key, and nothing is overwritten.
        tmp.write_text(export_public_key_pem(public_key))
        os.link(tmp, path)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and exc.filename2 == str(path):  # os.link: (tmp, path)
            raise LedgerKeyError(f"{path} appeared while archiving key {kid}: check what it holds, then archive "
                                 "the key again") from None
        why = "it is not a directory" if directory.exists() and not directory.is_dir() else (exc.strerror or str(exc))
        raise LedgerKeyError(f"cannot archive key {kid} in {directory} ({why[:1].lower() + why[1:]}): make it a "
                             "directory this process can write, or set GATEHOUSE_LEDGER_PUBLIC_KEYS_DIR to "
                             "one") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return ArchivedKey(kid, path, written=True)
