"""Which runs a failed verification found a problem in, so only their badges turn red. Rows recorded
before keep null: their problem is not attributed to runs, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0010_seal_chains_runs")]

    operations = [
        migrations.AddField(
            model_name="verificationrun",
            name="failed_runs",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
