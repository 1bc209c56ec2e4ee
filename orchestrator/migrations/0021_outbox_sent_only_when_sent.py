# The demo outbox records a message before sending it and marks it sent after, so a failed or
# interrupted send is sent again (orchestrator.demo.outbox). Rows written before this migration were
# stamped at insert time, whether or not the send that followed succeeded; nothing tells which did,
# so they keep their stamp (as sent) and their insert time is copied into created_at.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestrator', '0020_run_spend_counted'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL(
            "UPDATE orchestrator_outboxmessage SET created_at = sent_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Going back, the column is NOT NULL again: unsent rows get their insert time.
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql="UPDATE orchestrator_outboxmessage SET sent_at = created_at WHERE sent_at IS NULL",
        ),
    ]
