# The decision log's order (newest first), for everyone's decisions and for one person's. Built
# CONCURRENTLY, so a deployment with many decisions keeps taking them while the index builds; the
# actor's own index goes after, since the new one leads with the actor.

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('review', '0002_inbox'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='reviewdecision',
            index=models.Index(fields=['-created_at', '-id'], name='decision_recent'),
        ),
        AddIndexConcurrently(
            model_name='reviewdecision',
            index=models.Index(fields=['actor', '-created_at', '-id'], name='decision_actor_recent'),
        ),
        migrations.AlterField(
            model_name='reviewdecision',
            name='actor',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
