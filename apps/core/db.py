"""Set-based row updates for the hot paths (ledger balances, matching batches).

Django's ``bulk_update`` builds one ``CASE WHEN`` per field with a branch per row; resolving those
expressions dominates a matching batch. On PostgreSQL ``bulk_set`` sends one
``UPDATE … FROM unnest(<one array per column>)`` statement instead; elsewhere (SQLite, a single
writer) it issues one plain ``UPDATE`` per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


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
    # One array parameter per column, unnested server-side: a fixed handful of parameters however
    # many rows, so neither the SQL text nor its parsing grows with the batch.
    arrays: list[list[object]] = [[pk.get_db_prep_value(obj.pk, connection) for obj in objs]]
    for column in columns:
        arrays.append([column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in objs])  # type: ignore[union-attr]
    types = [pk.db_type(connection), *(c.db_type(connection) for c in columns)]  # type: ignore[union-attr]
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    names = ", ".join(["pk", *(f"c{i}" for i in range(len(columns)))])
    assignments = ", ".join(f"{qn(c.column)} = v.c{i}" for i, c in enumerate(columns))  # type: ignore[union-attr, arg-type]
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({unnest}) AS v({names}) WHERE t.{qn(pk.column)} = v.pk"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


def bulk_insert(objs: Sequence[M]) -> list[M]:
    """Insert many rows of one model and set their primary keys.

    On PostgreSQL this streams the rows with ``COPY`` after reserving their ids from the table's
    sequence: Django's ``bulk_create`` there builds ``UNNEST`` arrays whose text escaping costs more
    than the insert itself. Elsewhere it is ``bulk_create``. Field defaults and ``auto_now_add`` are
    applied as ``save()`` would.
    """
    if not objs:
        return []
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(qn(c) for c in [pk.column, *(f.column for f in fields)])
        raw = cursor.cursor
        with raw.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for obj, new_id in zip(objs, ids, strict=True):
                obj.pk = new_id
                copy.write_row([new_id, *(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
