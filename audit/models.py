"""The ledger: one hash-chained entry per transition and decision. Immutable by trigger."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Cast


class LedgerEntry(models.Model):
    # The primary key is the global sequence number used for sealing (never a timestamp).
    gseq = models.BigAutoField(primary_key=True)
    chain = models.CharField(max_length=200)  # the run's thread id, or "system"
    run = models.ForeignKey("orchestrator.Run", null=True, on_delete=models.DO_NOTHING, related_name="+")
    seq_run = models.IntegerField()
    kind = models.CharField(max_length=50)
    step = models.IntegerField(null=True)
    actor = models.CharField(max_length=150, null=True)
    at = models.CharField(max_length=40)  # ISO-8601 exactly as hashed
    payload = models.TextField()  # canonical JSON of digests and non-personal metadata
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    redacted = models.BooleanField(default=False)
    # Writing transaction id: a seal covers exactly the entries of transactions older than its
    # horizon, so an entry committed late can never fall into an already-sealed range.
    xid = models.BigIntegerField(
        db_default=Cast(Cast(models.Func(function="pg_current_xact_id"), models.TextField()), models.BigIntegerField()),
        editable=False,
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq_run"], name="ledger_chain_seq")]
        indexes = [models.Index(fields=["xid"], name="ledger_xid")]
