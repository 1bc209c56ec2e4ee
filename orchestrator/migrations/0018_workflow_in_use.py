"""The workflow version in use, per workflow (orchestrator.workflow_versions). Seeded from each
workflow's newest run, without a ledger entry: a change from there on is recorded. (A run's
graph_version is the one it started on or was upgraded to, so the seed is the version of the newest
start, not necessarily of the newest code a worker ran; the first entry after this migration may
name that as its `previous`.)"""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestrator', '0017_usage_rows_insert_only_missing'),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkflowInUse',
            fields=[
                ('workflow', models.CharField(max_length=200, primary_key=True, serialize=False)),
                ('version', models.CharField(max_length=64)),
                ('since', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO orchestrator_workflowinuse (workflow, version, since)"
            " SELECT DISTINCT ON (workflow) workflow, graph_version, created_at FROM orchestrator_run"
            " ORDER BY workflow, created_at DESC, id DESC",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
