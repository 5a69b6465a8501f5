"""Bulk row writes for the ledger and the import, without the ORM's per-object SQL compilation.

:func:`insert_rows` and :func:`update_rows` are used by :mod:`ledger.services` and
:mod:`clients.importer.writer`; :func:`instance` builds a saved model instance from column values.
Callers validate first, as with ``bulk_create``.

- SQLite: multi-row ``INSERT … VALUES … RETURNING id`` on the driver's own cursor with its ``?``
  placeholders (Django's cursor rewrites each ``%s`` of every statement: a tenth of the booking time
  of a large import), and one prepared ``UPDATE`` per row (``executemany``).
- PostgreSQL: ``COPY … FROM STDIN`` (psycopg 3 ``cursor.copy``); when the ids are needed they are
  drawn from the table's sequence first (one ``SELECT nextval(…) FROM generate_series(1, n)``) and
  copied with the rows. Changed rows are written with one ``UPDATE … FROM unnest(…)`` per chunk.
  Row triggers and constraints apply to ``COPY`` as to ``INSERT``. :data:`PG_FAST` = ``False``
  selects the SQLite statements on PostgreSQL too (the reference the tests compare against).
"""

from __future__ import annotations

import time

from django.db import OperationalError, connection, transaction
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


def insert_rows(
    model, fields: list[str], rows, *, returning: bool = False, now=None, fixed_sizes: bool = False
) -> list[int]:
    """INSERT many rows of ``model`` without building model instances; return their pks if asked.

    ``rows`` are tuples in ``fields`` order (attnames: ``client_id``, not ``client``). Concrete
    fields not listed get their default (``auto_now``/``auto_now_add``: now). Values pass
    through the field's ``get_db_prep_save`` unless the driver takes them as they are (ints,
    strings, Decimals); conversions are cached, since dates repeat. Multi-row ``VALUES`` with
    ``RETURNING id`` (SQLite ≥ 3.35 and PostgreSQL return the ids in row order, as Django's
    ``bulk_create`` relies on). ``bulk_create`` spends most of a large import compiling SQL
    per object; this is the same statement without that overhead. No signals, no ``save()``:
    callers must validate first, like ``bulk_create``.

    ``fixed_sizes``: multi-row statements of a few sizes only (the batch size, then tenths of it): SQLite
    keeps every distinct statement text prepared, and one per remainder size of every chunk of a large
    import held tens of MB. Off by default, so a caller's statement count stays one per batch.
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
    converting = [(i, c) for i, c in enumerate(converters) if c is not None]
    extra = tuple(extra_values)
    pks: list[int] = []
    rows = list(rows)
    if connection.vendor == "postgresql" and PG_FAST:
        if not rows:
            return []
        if plain:
            values = (row + extra if type(row) is tuple else (*row, *extra) for row in rows)
        else:
            values = (
                (*(v if c is None or v is None else c(v) for c, v in zip(converters, row, strict=True)), *extra)
                for row in rows
            )
        return _pg_copy(meta, columns, values, len(rows), returning=returning)
    sqlite = connection.vendor == "sqlite"
    if sqlite:  # the driver's own cursor and placeholders: Django's rewrites every "%s" of each statement
        one = one.replace("%s", "?")
    returning_sql = " RETURNING " + connection.ops.quote_name(meta.pk.column) if returning else ""
    connection.validate_no_broken_transaction()
    with connection.cursor() as wrapper, connection.wrap_database_errors:  # driver errors → django.db errors
        cursor = connection.connection.cursor() if sqlite else wrapper
        for start, end in _spans(len(rows), per_batch, fixed_sizes):
            batch = rows[start:end]
            params: list = []
            for row in batch:
                if not plain:
                    row = list(row)
                    for i, convert in converting:
                        if row[i] is not None:
                            row[i] = convert(row[i])
                params.extend(row)
                params.extend(extra)
            sql = f"INSERT INTO {table} ({column_sql}) VALUES " + ", ".join([one] * len(batch)) + returning_sql  # noqa: S608
            started = time.monotonic()
            cursor.execute(sql, params)
            if returning:
                pks.extend(r[0] for r in cursor.fetchall())
            if sqlite:
                _log(f"INSERT INTO {table} ({column_sql}) VALUES …{returning_sql}", started, len(batch))  # noqa: S608
    return pks


def _spans(n: int, per_batch: int, fixed_sizes: bool):
    """``(start, end)`` of each statement's rows: ``per_batch`` at a time, the last one shorter; with
    ``fixed_sizes`` the rest is split into statements of per_batch / 10, / 100, … rows instead."""
    start, size = 0, per_batch
    while start < n:
        if fixed_sizes:
            while size > n - start:
                size = max(1, size // 10)
        end = min(n, start + size)
        yield start, end
        start = end


def update_rows(model, fields: list[str], objs) -> None:
    """UPDATE many rows by pk with one prepared statement (``executemany``).

    ``bulk_update`` builds a CASE WHEN per field over every row of a batch, which grows
    quadratically slow for the thousands of accounts and receivables of a large import.
    """
    objs = list(objs)
    if not objs:
        return
    if connection.vendor == "postgresql" and PG_FAST:
        _pg_update(model, fields, objs)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(f).column for f in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    params = [[getattr(o, f) for f in fields] + [o.pk] for o in objs]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", params)  # noqa: S608


# --------------------------------------------------------------------------- PostgreSQL

PG_FAST = True  # False: the portable statements above on PostgreSQL too (the tests' reference path)
UPDATE_CHUNK = 10000
ANALYZE_MIN_ROWS = 10000  # a COPY of at least this many rows may refresh the table's statistics
ANALYZE_LOCK_TIMEOUT = "200ms"
_added: dict[str, int] = {}  # rows copied into a table since this process last analyzed it
_sequences: dict[str, str] = {}


def _log(sql: str, started: float, rows: int) -> None:
    """Record a statement run on the driver's own cursor as Django records its own (query counts)."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"{sql} -- {rows} rows", "time": f"{time.monotonic() - started:.3f}"})


def _sequence(table: str, column: str) -> str:
    key = f"{table}.{column}"
    if key not in _sequences:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), column])
            _sequences[key] = cursor.fetchone()[0]
    return _sequences[key]


def _pg_copy(meta, columns: list[str], values, n: int, *, returning: bool) -> list[int]:
    """``COPY`` the rows in; with ``returning``, ids drawn from the sequence (ascending, in row order)."""
    table = connection.ops.quote_name(meta.db_table)
    pks: list[int] = []
    connection.validate_no_broken_transaction()
    with connection.cursor() as wrapper, connection.wrap_database_errors:  # driver errors → django.db errors
        cursor = wrapper.cursor  # the psycopg cursor: Django's wrapper has no copy()
        if returning:
            pk = meta.pk.column
            started = time.monotonic()
            sql = "SELECT nextval(%s) FROM generate_series(1, %s)"
            cursor.execute(sql, [_sequence(meta.db_table, pk), n])
            pks = sorted(r[0] for r in cursor.fetchall())
            _log(sql, started, n)
            columns = [pk, *columns]
            values = ((i, *row) for i, row in zip(pks, values, strict=True))
        column_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
        sql = f"COPY {table} ({column_sql}) FROM STDIN"
        started = time.monotonic()
        with cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
        _log(sql, started, n)
    table = meta.db_table
    _added[table] = _added.get(table, 0) + n
    if _added[table] >= ANALYZE_MIN_ROWS and _analyze_if_grown(table, _added[table]):
        _added[table] = 0
    return pks


def _analyze_if_grown(table: str, added: int) -> bool:
    """``ANALYZE`` a table that bulk writes at least doubled since its statistics were taken
    (``added``: rows this process copied in since it last analyzed it); True if it did.

    Without statistics the planner guesses (e.g. a sequential scan for ``EXISTS`` on an indexed
    date), and a server with autovacuum off, or one that has not got round to it yet, leaves a
    freshly imported book without any. Inside the caller's transaction ``ANALYZE`` samples its
    uncommitted rows too and its statistics commit with them; it waits at most
    :data:`ANALYZE_LOCK_TIMEOUT` for the table's lock (another session analyzing the same
    table) and is skipped if it cannot have it.
    """
    q = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [q])
        row = cursor.fetchone()
        if row is None or row[0] >= added:  # -1: never analyzed
            return False
        try:
            with transaction.atomic():
                cursor.execute("SELECT current_setting('lock_timeout')")
                (before,) = cursor.fetchone()
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [ANALYZE_LOCK_TIMEOUT])
                cursor.execute(f"ANALYZE {q}")
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
        except OperationalError:  # lock not granted in time: the next write or autovacuum will
            return False
    return True


def _pg_update(model, fields: list[str], objs: list) -> None:
    """One ``UPDATE … FROM unnest(arrays)`` per chunk: a statement, not a round trip per row."""
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    targets = [meta.get_field(f) for f in fields]
    q = connection.ops.quote_name
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in targets)
    names = ", ".join(q(f"v_{f.column}") for f in targets)
    assignments = ", ".join(f"{q(f.column)} = v.{q('v_' + f.column)}" for f in targets)
    pk = meta.pk
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest(%s::{pk.db_type(connection)}[], {arrays}) "  # noqa: S608
        f"AS v(v_pk, {names}) WHERE {table}.{q(pk.column)} = v.v_pk"
    )
    preps = [None if f.get_internal_type() in _PASS_THROUGH else f for f in targets]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), UPDATE_CHUNK):
            chunk = objs[start : start + UPDATE_CHUNK]
            params = [[o.pk for o in chunk]]
            for f, prep in zip(targets, preps, strict=True):
                column = [getattr(o, f.attname) for o in chunk]
                if prep is not None:
                    column = [prep.get_db_prep_save(v, connection) for v in column]
                params.append(column)
            cursor.execute(sql, params)
