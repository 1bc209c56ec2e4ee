# The runs list's search by part of a thread id (trigram) and its label filter (jsonb containment).
# Built CONCURRENTLY: on a deployment with a million runs a plain CREATE INDEX would hold up every
# step commit (they update run rows) for as long as the build takes.

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orchestrator', '0024_label_keys'),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrently(
            model_name='run',
            index=django.contrib.postgres.indexes.GinIndex(fields=['thread_id'], name='run_thread_id_trgm', opclasses=['gin_trgm_ops']),
        ),
        AddIndexConcurrently(
            model_name='run',
            index=django.contrib.postgres.indexes.GinIndex(fields=['labels'], name='run_labels', opclasses=['jsonb_path_ops']),
        ),
    ]
