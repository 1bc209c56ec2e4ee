"""`column = ANY(ARRAY(subquery))`: a semi-join the planner answers with one index probe per value."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, F, Func, QuerySet


class _AnyOf(Func):
    output_field = BooleanField()
    conditional = True

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        values, values_params = compiler.compile(self.source_expressions[1])
        return f"{column} = ANY({values})", (*column_params, *values_params)


def matches_any(field: str, values: QuerySet) -> _AnyOf:
    """A filter: `field` is one of the values `values` (a one-column queryset) selects.

    Where `field__in=values` (`IN (SELECT …)`) lets the planner hash the subquery and read every row
    of the outer table, this folds the subquery into an array first, so the outer table is read
    through its index, one probe per value (PostgreSQL 17+ walks a btree once for the lot). The
    budgets page's per-run cap, with 15,000 runs in progress and a million usage rows: 300 ms → 70."""
    return _AnyOf(F(field), ArraySubquery(values))
