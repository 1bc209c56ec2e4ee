"""Leave room on each page of orchestrator_run so every step's update of a run row is HOT.

The step commit updates the run row once per step without changing an indexed column; a HOT
(heap-only) update then writes no index entries — but only if the new row version fits on the
same page. With the default fillfactor (100) pages are full and most updates were not HOT (each
then wrote all of the table's indexes); at 50 they all were in bench/executor_vs_langgraph.py's
database (pg_stat_user_tables.n_tup_hot_upd). Existing pages get the room when next rewritten.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0007_budget_functions_fewer_statements")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE orchestrator_run SET (fillfactor = 50);",
            "ALTER TABLE orchestrator_run RESET (fillfactor);",
        ),
    ]
