"""Workflow versions that have started a run. Versions already in use are recorded here as they
are (no ledger entry): only versions first run from now on are new to the ledger."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestrator', '0017_usage_rows_insert_only_missing'),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkflowVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('workflow', models.CharField(max_length=200)),
                ('version', models.CharField(max_length=64)),
                ('first_run_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('workflow', 'version'), name='workflow_version_unique')],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO orchestrator_workflowversion (workflow, version, first_run_at)"
            " SELECT workflow, graph_version, min(created_at) FROM orchestrator_run GROUP BY workflow, graph_version",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
