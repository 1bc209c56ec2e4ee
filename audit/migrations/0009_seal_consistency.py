"""Seals keep the consistency proof from the previous seal, computed while sealing. Earlier seals keep null:
an export rebuilds those from their leaves, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_prunedchain_retention_days")]

    operations = [
        migrations.AddField(
            model_name="seal",
            name="consistency",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
