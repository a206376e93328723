"""Set-based row updates for the hot paths (ledger balances, matching batches).

Django's ``bulk_update`` builds one ``CASE WHEN`` per field with a branch per row; resolving those
expressions dominates a matching batch. On PostgreSQL ``bulk_set`` sends one
``UPDATE … FROM unnest(<one array per column>)`` statement instead; elsewhere (SQLite, a single
writer) it issues one plain ``UPDATE`` per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)


def _reader(field: Any, *, adding: bool, now: Any) -> Callable[[models.Model], object]:
    """How to read one column's database value off an instance, cheaply.

    Django's ``get_db_prep_save`` per value was most of a matching batch's time. The columns of the
    models written here are plain values psycopg adapts itself (ints, strings, Decimals, datetimes,
    booleans, None), JSON (wrapped for psycopg) and timestamps set on save; any other field type
    falls back to Django's own preparation.
    """
    attname = field.attname
    if isinstance(field, models.DateTimeField) and (field.auto_now or (adding and field.auto_now_add)):

        def stamp(obj: models.Model) -> object:
            setattr(obj, attname, now)
            return now

        return stamp
    if isinstance(field, models.JSONField):
        return lambda obj: Jsonb(getattr(obj, attname))
    if isinstance(
        field,
        models.DecimalField
        | models.IntegerField
        | models.CharField
        | models.BooleanField
        | models.DateTimeField
        | models.ForeignKey,
    ):
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, adding), connection)


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
    now = timezone.now()
    arrays: list[list[object]] = [[obj.pk for obj in objs]]
    for column in columns:
        read = _reader(column, adding=False, now=now)
        arrays.append([read(obj) for obj in objs])
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
        now = timezone.now()
        readers = [_reader(f, adding=True, now=now) for f in fields]
        raw = cursor.cursor
        with raw.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for obj, new_id in zip(objs, ids, strict=True):
                obj.pk = new_id
                copy.write_row([new_id, *(read(obj) for read in readers)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
