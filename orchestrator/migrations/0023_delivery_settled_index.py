# The reconciler's prune of old sent and failed notifications (orchestrator.deliveries.deliveries_prune)
# looks for them every pass. Built concurrently: the outbox was never pruned before, so on a deployment
# it may be large, and workers keep writing to it while the index is built.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orchestrator', '0022_deliveries'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(condition=models.Q(('state__in', ['sent', 'failed'])), fields=['created_at'], name='delivery_settled'),
        ),
    ]
