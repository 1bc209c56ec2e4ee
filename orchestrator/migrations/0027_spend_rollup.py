"""The daily roll-up of the spend rows (orchestrator.spend_rollup): spend by day, workflow, node and
model; by day, run and labels; and the mark (a single row) of the first day not rolled up."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestrator', '0026_budget_version'),
    ]

    operations = [
        migrations.CreateModel(
            name='SpendRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('next_day', models.DateField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='SpendDaily',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('workflow', models.CharField(max_length=200)),
                ('node', models.CharField(max_length=200)),
                ('model', models.CharField(max_length=200)),
                ('cost', models.DecimalField(decimal_places=6, max_digits=18)),
                ('calls', models.BigIntegerField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('cached_tokens', models.BigIntegerField()),
                ('unpriced', models.BigIntegerField()),
                ('partial', models.BigIntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'workflow', 'node', 'model'), name='spend_daily_key')],
            },
        ),
        migrations.CreateModel(
            name='SpendRunDaily',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('labels', models.JSONField(blank=True, default=dict)),
                ('cost', models.DecimalField(decimal_places=6, max_digits=18)),
                ('calls', models.BigIntegerField()),
                ('input_tokens', models.BigIntegerField()),
                ('output_tokens', models.BigIntegerField()),
                ('cached_tokens', models.BigIntegerField()),
                ('run', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orchestrator.run')),
            ],
            options={
                'indexes': [models.Index(fields=['day'], name='spend_run_daily_day'), models.Index(fields=['run'], name='spend_run_daily_run')],
            },
        ),
        migrations.RunSQL("INSERT INTO orchestrator_spendrollup (id, next_day) VALUES (1, NULL)",
                          reverse_sql=migrations.RunSQL.noop),
    ]
