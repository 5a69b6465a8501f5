"""Bulk row writes for the ledger and the import, without the ORM's per-object SQL compilation.

:func:`insert_rows` (multi-row ``INSERT … RETURNING id``) and :func:`update_rows` (one prepared
``UPDATE`` per row through ``executemany``) are used by :mod:`ledger.services` and
:mod:`clients.importer.writer`; :func:`instance` builds a saved model instance from column values.
Callers validate first, as with ``bulk_create``.
"""

from __future__ import annotations

from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone


def instance(model, values: dict):
    """A saved model instance from its column values, as ``Model.from_db`` builds one, minus the
    per-field ``__init__`` work (a third of the booking time of a large import)."""
    obj = model.__new__(model)
    obj.__dict__.update(values)
    obj._state = ModelState()
    obj._state.adding, obj._state.db = False, connection.alias
    return obj


_PASS_THROUGH = (
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DecimalField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
)


def insert_rows(model, fields: list[str], rows, *, returning: bool = False, now=None) -> list[int]:
    """INSERT many rows of ``model`` without building model instances; return their pks if asked.

    ``rows`` are tuples in ``fields`` order (attnames: ``client_id``, not ``client``). Concrete
    fields not listed get their default (``auto_now``/``auto_now_add``: now). Values pass
    through the field's ``get_db_prep_save`` unless the driver takes them as they are (ints,
    strings, Decimals); conversions are cached, since dates repeat. Multi-row ``VALUES`` with
    ``RETURNING id`` (SQLite ≥ 3.35 and PostgreSQL return the ids in row order, as Django's
    ``bulk_create`` relies on). ``bulk_create`` spends most of a large import compiling SQL
    per object; this is the same statement without that overhead. No signals, no ``save()``:
    callers must validate first, like ``bulk_create``.
    """
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    listed = [by_attname[name] for name in fields]
    now = now or timezone.now()
    extra_fields, extra_values = [], []
    for f in meta.concrete_fields:
        if f.primary_key or f.attname in fields:
            continue
        value = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        extra_fields.append(f)
        extra_values.append(f.get_db_prep_save(value, connection))
    converters = []
    for f in listed:
        if f.get_internal_type() in _PASS_THROUGH:
            converters.append(None)
        else:
            cache: dict = {}

            def convert(value, f=f, cache=cache):
                try:
                    return cache[value]
                except KeyError:
                    out = cache[value] = f.get_db_prep_save(value, connection)
                    return out
                except TypeError:  # unhashable (JSON)
                    return f.get_db_prep_save(value, connection)

            converters.append(convert)
    columns = [f.column for f in listed + extra_fields]
    width = len(columns)
    table = connection.ops.quote_name(meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
    one = "(" + ", ".join(["%s"] * width) + ")"
    per_batch = max(1, min(1000, 30000 // width))
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            import sqlite3

            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, Exception):
            limit = connection.features.max_query_params
        per_batch = max(1, min(per_batch, limit // width))
    plain = all(c is None for c in converters)
    extra = tuple(extra_values)
    pks: list[int] = []
    rows = list(rows)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
            params: list = []
            for row in batch:
                if plain:
                    params.extend(row)
                else:
                    params.extend(v if c is None or v is None else c(v) for c, v in zip(converters, row, strict=True))
                params.extend(extra)
            sql = f"INSERT INTO {table} ({column_sql}) VALUES " + ", ".join([one] * len(batch))  # noqa: S608
            if returning:
                cursor.execute(sql + " RETURNING " + connection.ops.quote_name(meta.pk.column), params)
                pks.extend(r[0] for r in cursor.fetchall())
            else:
                cursor.execute(sql, params)
    return pks


def update_rows(model, fields: list[str], objs) -> None:
    """UPDATE many rows by pk with one prepared statement (``executemany``).

    ``bulk_update`` builds a CASE WHEN per field over every row of a batch, which grows
    quadratically slow for the thousands of accounts and receivables of a large import.
    """
    objs = list(objs)
    if not objs:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(f).column for f in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    params = [[getattr(o, f) for f in fields] + [o.pk] for o in objs]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", params)  # noqa: S608
