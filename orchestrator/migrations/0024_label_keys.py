"""The label keys runs were started with, in a table of their own (orchestrator.label_keys), filled
from the runs and the spend rows there are."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestrator', '0023_delivery_settled_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='LabelKey',
            fields=[
                ('key', models.TextField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.RunSQL(
            sql="""
            INSERT INTO orchestrator_labelkey (key)
            SELECT k FROM orchestrator_run, jsonb_object_keys(labels) AS k
            UNION SELECT k FROM orchestrator_spendevent, jsonb_object_keys(labels) AS k
            ON CONFLICT DO NOTHING
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
