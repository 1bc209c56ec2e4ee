"""The distinct values of an indexed column, read by skipping along its index."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Model


def column_values(model: type[Model], field: str) -> list[Any]:
    """Every distinct non-null value of `model.field`, in order, one index probe per value (a
    "loose index scan": each step asks for the first value after the last one found). `SELECT
    DISTINCT` reads every row instead: the audit page's 20 workflows took 37 ms over a million
    runs, 1 ms this way. `field` must lead a btree index, or each probe reads the table."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE v AS (
                  (SELECT {column} AS value FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)
                  UNION ALL
                  SELECT (SELECT {column} FROM {table} WHERE {column} > v.value ORDER BY {column} LIMIT 1)
                  FROM v WHERE v.value IS NOT NULL)
                SELECT value FROM v WHERE value IS NOT NULL""")
        return [value for (value,) in cursor.fetchall()]
