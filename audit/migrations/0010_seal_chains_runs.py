"""A GIN index on each seal's signed run heads: an export finds the seals that name its runs through it."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_seal_consistency")]

    operations = [
        migrations.AddIndex(
            model_name="seal",
            index=GinIndex(fields=["chains"], name="seal_chains_runs"),
        ),
    ]
