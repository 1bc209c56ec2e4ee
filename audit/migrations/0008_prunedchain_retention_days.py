"""A pruned run records the retention period it was pruned under, so an export can state it.
Runs pruned before this keep null: the period then in force was not recorded."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_system_head_without_trigger")]

    operations = [
        migrations.AddField(
            model_name="prunedchain",
            name="retention_days",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
