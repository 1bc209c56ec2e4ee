"""The ledger: one hash-chained entry per transition and decision. Immutable by trigger."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models


class LedgerEntry(models.Model):
    # The primary key is the global sequence number used for sealing (never a timestamp).
    gseq = models.BigAutoField(primary_key=True)
    chain = models.CharField(max_length=200)  # the run's thread id, or "system"
    # Entries are found by chain (the run's thread id), so no index on run; and no FK constraint,
    # for the same reason as Checkpoint.run: the step commit inserts entries only FROM the guarded
    # UPDATE of their run row, and runs are never deleted.
    run = models.ForeignKey("orchestrator.Run", null=True, on_delete=models.DO_NOTHING, related_name="+",
                            db_index=False, db_constraint=False)
    seq_run = models.IntegerField()
    kind = models.CharField(max_length=50)
    step = models.IntegerField(null=True)
    actor = models.CharField(max_length=150, null=True)
    at = models.CharField(max_length=40)  # ISO-8601 exactly as hashed
    payload = models.TextField()  # canonical JSON of digests and non-personal metadata
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    redacted = models.BooleanField(default=False)

    class Meta:
        # Two indexes only (gseq, and chain + seq_run) since every step commit pays for each one.
        # Sealing finds its range by gseq and waits out older transactions (audit/sealing.py).
        constraints = [models.UniqueConstraint(fields=["chain", "seq_run"], name="ledger_chain_seq")]


class SystemChainHead(models.Model):
    """Length and head of the "system" chain (entries outside runs: exports, erasures, prunes, cost
    alerts). One row, kept up to date by a database trigger on every system entry insert, so any
    writer advances it and a fork (two entries with the same predecessor) is refused."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    length = models.IntegerField(default=0)
    head = models.CharField(max_length=64, default="0" * 64)


class Seal(models.Model):
    """A signed tree head: the Merkle root over every entry up to `tree_size` (gseq order).

    Immutable by trigger. `frontier` holds the roots of the tree's complete right-edge subtrees, so
    the next seal extends the tree without reading every older leaf (see audit/sealing.py)."""

    seal_no = models.IntegerField(primary_key=True)
    tree_size = models.BigIntegerField()
    root = models.CharField(max_length=64)
    first_gseq = models.BigIntegerField()
    last_gseq = models.BigIntegerField()
    # Every transaction with an xid below this had finished when the seal was made.
    xid_horizon = models.BigIntegerField()
    sealed_at = models.CharField(max_length=40)  # ISO-8601 exactly as signed
    prev_head = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.TextField()
    head_hash = models.CharField(max_length=64)
    frontier = models.JSONField(default=list)
    # {chain: [length, head]} for every chain this seal's entries touched, signed separately
    # (chains_signature) because the tree head format is fixed: it pins each run's length, so the
    # newest entries of a run cannot be cut off unnoticed once sealed.
    chains = models.JSONField(default=dict)
    chains_signature = models.TextField(default="")
    external = models.CharField(max_length=300, blank=True, default="")  # where the copy went
    # The consistency proof (hex nodes) from seal_no - 1's tree to this one, computed while sealing, so an
    # export need not rebuild every seal to carry it. Not signed: checked against both signed roots before
    # use. Null for seal 1 and for seals made before it was kept.
    consistency = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["seal_no"]
        # An export finds the seals that signed a head for its runs (`chains ?| runs`) without reading every
        # seal's chains: a seal a minute makes half a million in a year. Written once a seal, not per step.
        indexes = [GinIndex(fields=["chains"], name="seal_chains_runs")]

    def __str__(self) -> str:
        return f"seal {self.seal_no} ({self.tree_size} entries)"


class VerificationRun(models.Model):
    """The outcome of one `audit verify` (CLI, the audit page's button, or the sealer loop)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    scope = models.CharField(max_length=200)  # "all", "run T-1", "since 2025-06-01"
    ok = models.BooleanField()
    problem = models.CharField(max_length=20, blank=True, default="")  # modified, deleted, ...
    entry = models.CharField(max_length=200, blank=True, default="")  # "entry 5 of run T-1 (gseq 42)"
    detail = models.TextField(blank=True, default="")
    entries = models.BigIntegerField(default=0)
    seals = models.IntegerField(default=0)
    actor = models.CharField(max_length=150, blank=True, default="")
    # Thread ids of the runs a failed verification found a problem in, or that share a seal that
    # did not check out; null when it passed, or when its problem vouches for no run at all.
    failed_runs = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        ordering = ["-id"]


class PrunedLeaf(models.Model):
    """What retention leaves of a pruned ledger entry: its position and hash, the Merkle leaf, so
    every seal over it still recomputes and its inclusion proof can still be produced."""

    gseq = models.BigIntegerField(primary_key=True)
    chain = models.CharField(max_length=200)
    seq_run = models.IntegerField()
    hash = models.CharField(max_length=64)


class PrunedChain(models.Model):
    """A run whose ledger entries retention removed: its length and head when pruned (a seal signed
    them), when, and under which retention period. A JSONL export states this for the run in place of
    its entries (docs/ledger-export-format.md, `pruned` lines)."""

    chain = models.CharField(max_length=200, primary_key=True)
    length = models.IntegerField()
    head = models.CharField(max_length=64)
    pruned_at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True, default="")
    # The workflow's retention period applied, in days; null for runs pruned before it was recorded.
    retention_days = models.PositiveIntegerField(null=True, blank=True)


class RetentionPolicy(models.Model):
    """How long a workflow's runs are kept after they finish (default: settings, 400 days)."""

    workflow = models.CharField(max_length=200, unique=True)
    days = models.PositiveIntegerField()
    # Set only through `retention_set(..., allow_below_minimum=True)`: below 183 days is a deliberate act.
    below_minimum = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.workflow}: {self.days} days"
