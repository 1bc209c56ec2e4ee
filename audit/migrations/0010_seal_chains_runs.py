"""A GIN index on each seal's signed run heads: an export finds the seals that name its runs through it.
Built concurrently: on a ledger a year old the seal table is large, and the sealer keeps writing."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("audit", "0009_seal_consistency")]

    operations = [
        AddIndexConcurrently(
            model_name="seal",
            index=GinIndex(fields=["chains"], name="seal_chains_runs"),
        ),
    ]
