"""The label keys runs are started with, kept in a table of their own for the costs pages' pickers
(group spend by a label, charge back by one). Listing them from the spend rows, where every billed
call carries its run's labels, read every call ever made on each page load."""

from __future__ import annotations

from django.db import connection


def label_keys_record(labels: dict[str, str]) -> None:
    """Add a new run's label keys (in the transaction that creates it). One statement; a key seen
    before writes nothing."""
    if labels:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO orchestrator_labelkey (key) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
                           [sorted(labels)])


def label_keys_all(*, limit: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM orchestrator_labelkey ORDER BY key LIMIT %s", [limit])
        return [row[0] for row in cursor.fetchall()]
