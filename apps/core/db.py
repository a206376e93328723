"""Set-based row updates for the hot paths (ledger balances, matching batches).

Django's ``bulk_update`` builds one ``CASE WHEN`` per field with a branch per row; resolving those
expressions dominates a matching batch. On PostgreSQL ``bulk_set`` sends one
``UPDATE … FROM (VALUES …)`` statement instead; elsewhere (SQLite, a single writer) it issues one
plain ``UPDATE`` per row.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def bulk_set(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        manager = model._default_manager
        for obj in objs:
            manager.filter(pk=obj.pk).update(**{c.attname: getattr(obj, c.attname) for c in columns})  # type: ignore[union-attr]
        return
    pk = meta.pk
    assert pk is not None
    qn = connection.ops.quote_name
    names = ["pk", *(f"c{i}" for i in range(len(columns)))]
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    params: list[object] = []
    for obj in objs:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        for column in columns:
            params.append(column.get_db_prep_save(getattr(obj, column.attname), connection))  # type: ignore[union-attr]
    assignments = ", ".join(
        f"{qn(column.column)} = v.c{i}::{column.db_type(connection)}"  # type: ignore[union-attr, arg-type]
        for i, column in enumerate(columns)
    )
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "
        f"FROM (VALUES {', '.join([row] * len(objs))}) AS v({', '.join(names)}) "
        f"WHERE t.{qn(pk.column)} = v.pk::{pk.db_type(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # type: ignore[arg-type]
