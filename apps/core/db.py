"""Set-based row writes for the hot paths (ledger balances, matching batches).

Two shapes of the same operations:

* ``update_rows(model, fields, rows)`` / ``insert_rows(model, fields, rows)`` take plain tuples of
  database-ready values (no model instances): the matching worker's batch write path.
* ``bulk_set(objs, fields)`` / ``bulk_insert(objs)`` take model instances and are thin wrappers.

On PostgreSQL an update is one ``UPDATE … FROM unnest(<one array per column>)`` statement whose
arrays are sent as array *literals* (text built with ``str.join``: psycopg's per-element list
dumping cost more than the update itself), and an insert reserves its ids from the table's
sequence, then streams hand-built ``COPY`` text (psycopg's per-row ``write_row`` and Django's
``bulk_create`` both cost more than the insert). Elsewhere (SQLite, a single writer) they fall back
to one plain ``UPDATE`` per row and ``bulk_create``.

Values are what psycopg would accept: ``int``, ``str``, ``Decimal``, ``bool``, timezone-aware
``datetime``, ``None``, and for JSON columns any ``json.dumps``-able value or a ``RawJson`` document
the caller encoded itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

Encoder = Callable[[Any], str]

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class RawJson(str):
    """A JSON document already encoded, written to a JSON column as it is.

    For hot paths that build fixed-shape payloads from templates (``json.dumps`` of a small dict
    costs about twenty times the f-string). The caller guarantees it is valid JSON.
    """


# --- COPY text format: one line per row, tab-separated, \N for NULL ---------------------------------


def _copy_plain(value: Any) -> str:  # numbers: their str() is valid PostgreSQL input (1E+1 included)
    return "\\N" if value is None else str(value)


def _copy_text(value: Any) -> str:
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def _copy_bool(value: Any) -> str:
    return "\\N" if value is None else ("t" if value else "f")


def _copy_datetime(value: Any) -> str:
    return "\\N" if value is None else value.isoformat()


def _copy_json(value: Any) -> str:
    if value is None:
        return "\\N"
    text = value if type(value) is RawJson else json.dumps(value)
    # JSON text has no raw control characters (they are escaped); only the backslash needs doubling.
    return text.replace("\\", "\\\\")


# --- array literals: {a,b,"c d",NULL} ---------------------------------------------------------------


def _array_plain(value: Any) -> str:
    return "NULL" if value is None else str(value)


def _array_text(value: Any) -> str:
    if value is None:
        return "NULL"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_bool(value: Any) -> str:
    return "NULL" if value is None else ("t" if value else "f")


def _array_datetime(value: Any) -> str:
    return "NULL" if value is None else '"' + value.isoformat() + '"'


def _array_json(value: Any) -> str:
    if value is None:
        return "NULL"
    return _array_text(value if type(value) is RawJson else json.dumps(value))


def _restamp(model: type[models.Model], field: Any, pks: Sequence[Any], values: Sequence[Any]) -> None:
    """Put back the values given for an ``auto_now(_add)`` column, which ``bulk_create`` overwrote."""
    if not (isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add)):
        return
    by_value: dict[Any, list[Any]] = {}
    for pk, value in zip(pks, values, strict=True):
        by_value.setdefault(value, []).append(pk)
    for value, group in by_value.items():
        model._default_manager.filter(pk__in=group).update(**{field.attname: value})


def _python(value: Any) -> Any:
    """A value as the ORM takes it (the fallback path): a ``RawJson`` document becomes its object."""
    return json.loads(value) if type(value) is RawJson else value


def _kind(field: Any) -> str:
    """How a column's values are written: plain (numbers), text, bool, datetime or json."""
    if isinstance(field, models.ForeignKey):
        return _kind(field.target_field)
    if isinstance(field, models.JSONField) and field.encoder is None:
        return "json"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DecimalField | models.IntegerField):
        return "plain"
    if isinstance(field, models.CharField | models.TextField):
        return "text"
    raise TypeError(f"{field!r}: no fast writer for {type(field).__name__}; use the ORM")


_COPY: dict[str, Encoder] = {
    "plain": _copy_plain,
    "text": _copy_text,
    "bool": _copy_bool,
    "datetime": _copy_datetime,
    "json": _copy_json,
}
_ARRAY: dict[str, Encoder] = {
    "plain": _array_plain,
    "text": _array_text,
    "bool": _array_bool,
    "datetime": _array_datetime,
    "json": _array_json,
}


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """``UPDATE`` many rows of ``model``: each row is ``(pk, value of fields[0], value of fields[1], …)``.

    ``constants`` sets further columns to one value on every row (e.g. ``updated_at``). Returns how
    many rows were updated (a primary key listed twice counts once).
    """
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    fixed = [(meta.get_field(name), value) for name, value in (constants or {}).items()]
    if connection.vendor != "postgresql":
        manager = model._default_manager
        extra = {c.attname: _python(value) for c, value in fixed}  # type: ignore[union-attr]
        updated = set()
        for row in rows:
            values = {c.attname: _python(v) for c, v in zip(columns, row[1:], strict=True)}  # type: ignore[union-attr]
            if manager.filter(pk=row[0]).update(**values, **extra):
                updated.add(row[0])
        return len(updated)
    pk = meta.pk
    assert pk is not None
    qn = connection.ops.quote_name
    arrays: list[str] = []
    for index, column in enumerate([pk, *columns]):
        encode = _ARRAY[_kind(column)]
        arrays.append("{" + ",".join([encode(row[index]) for row in rows]) + "}")
    types = [pk.db_type(connection), *(c.db_type(connection) for c in columns)]  # type: ignore[union-attr]
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    names = ", ".join(["pk", *(f"c{i}" for i in range(len(columns)))])
    assignments = [f"{qn(c.column)} = v.c{i}" for i, c in enumerate(columns)]  # type: ignore[union-attr, arg-type]
    assignments += [f"{qn(c.column)} = %s" for c, _ in fixed]  # type: ignore[union-attr, arg-type]
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {', '.join(assignments)} "
        f"FROM unnest({unnest}) AS v({names}) WHERE t.{qn(pk.column)} = v.pk"
    )
    # Parameters in textual order: the SET constants come before the unnest arrays.
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(value for _, value in fixed), *arrays])
        return int(cursor.rowcount)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` ids from ``model``'s primary-key sequence (PostgreSQL)."""
    meta = model._meta
    assert meta.pk is not None
    with connection.cursor() as cursor:
        # The sequence is looked up once (per row, pg_get_serial_sequence cost more than nextval) and
        # the ids come back as one array (thousands of one-column rows cost more than the nextvals).
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
            "SELECT array_agg(n ORDER BY n) FROM (SELECT nextval(s.seq) AS n FROM s, generate_series(1, %s)) ids",
            [meta.db_table, meta.pk.column, count],
        )
        return list(cursor.fetchone()[0])


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert rows of ``model`` given as tuples of ``fields`` values; returns their new ids in order.

    ``constants`` gives further columns one value for every row (e.g. ``created_at``). Columns named
    in neither get no value from here: they must be nullable (on SQLite, where this is
    ``bulk_create``, the model's Python defaults apply).
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    fixed = [(meta.get_field(name), value) for name, value in (constants or {}).items()]
    if connection.vendor != "postgresql":
        attnames = [c.attname for c in columns]  # type: ignore[union-attr]
        extra = {c.attname: _python(value) for c, value in fixed}  # type: ignore[union-attr]
        objs = [model(**{a: _python(v) for a, v in zip(attnames, row, strict=True)}, **extra) for row in rows]
        pks = [obj.pk for obj in model._default_manager.bulk_create(objs)]
        for index, column in enumerate(columns):
            _restamp(model, column, pks, [row[index] for row in rows])
        for column, value in fixed:
            _restamp(model, column, pks, [value] * len(pks))
        return pks
    pk = meta.pk
    assert pk is not None
    ids = reserve_ids(model, len(rows))
    encoders = [_COPY[_kind(c)] for c in columns]
    tail = "".join("\t" + _COPY[_kind(c)](value) for c, value in fixed) + "\n"
    text = "".join(
        [
            "\t".join([str(new_id), *[encode(value) for encode, value in zip(encoders, row, strict=True)]]) + tail
            for new_id, row in zip(ids, rows, strict=True)
        ]
    )
    qn = connection.ops.quote_name
    names = ", ".join(qn(str(c.column)) for c in [pk, *columns, *(c for c, _ in fixed)])  # type: ignore[union-attr,arg-type]
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            copy.write(text)
    return ids


def _value(field: Any, obj: models.Model, *, adding: bool, now: datetime) -> Any:
    """The database value of one column of ``obj`` as ``save()`` would write it (auto timestamps set)."""
    if isinstance(field, models.DateTimeField) and (field.auto_now or (adding and field.auto_now_add)):
        setattr(obj, field.attname, now)
        return now
    return getattr(obj, field.attname)


def bulk_set(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of model instances (``auto_now`` timestamps are set, as ``save()`` would)."""
    if not objs:
        return
    meta = type(objs[0])._meta
    columns = [meta.get_field(name) for name in fields]
    now = timezone.now()
    rows = [(obj.pk, *[_value(c, obj, adding=False, now=now) for c in columns]) for obj in objs]
    update_rows(type(objs[0]), fields, rows)


def bulk_insert(objs: Sequence[M]) -> list[M]:
    """Insert many rows of one model and set their primary keys (defaults and ``auto_now_add`` applied)."""
    if not objs:
        return []
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    rows = [[_value(f, obj, adding=True, now=now) for f in fields] for obj in objs]
    ids = insert_rows(model, [f.name for f in fields], rows)
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
