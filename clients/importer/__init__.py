"""The workbook import (DOMAIN.md section 9): one service behind the command and the upload page.

``import_workbook(path_or_file, *, user=None, dry_run=False, progress=None) -> ImportResult``

Phase 1 reads every sheet (:mod:`.reader`) and checks every row against the workbook and the
database (:mod:`.validate`), collecting every problem as ``Sheet!Cell: message``. Only when
there is none, phase 2 writes in one ``transaction.atomic()`` block with bulk inserts
(:mod:`.writer`) and books the new transactions with
:func:`ledger.services.book_transactions`; a posting-rule violation the ledger finds is mapped
back to its ``Transactions!<col><row>`` and the whole block rolls back. A dry run does all of
it and rolls back, so it reports ledger-rule errors too. All or nothing, no traceback for bad
input. ``progress(phase, done, total)`` is called as work advances.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils import timezone

from clients.importer.reader import WorkbookError, read_bytes, read_workbook, sha256_hex
from clients.importer.validate import build_plan
from clients.importer.writer import write_plan
from clients.models import Client, ImportBatch

logger = logging.getLogger("atlas.import")

__all__ = ["ImportResult", "WorkbookError", "import_workbook"]


@dataclass
class ImportResult:
    ok: bool
    file_name: str = ""
    sha256: str = ""
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # sheet → new/changed/unchanged
    batch: ImportBatch | None = None
    rows: int = 0
    entries_booked: int = 0
    seconds: float = 0.0

    def count_lines(self) -> list[str]:
        return [
            f"{sheet}: {c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged"
            for sheet, c in self.counts.items()
        ]

    def as_summary(self) -> dict:
        return {
            "counts": self.counts,
            "rows": self.rows,
            "entries_booked": self.entries_booked,
            "seconds": round(self.seconds, 2),
            "dry_run": self.dry_run,
        }


class _Failed(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors


def import_workbook(
    path_or_file,
    *,
    user=None,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    batch: ImportBatch | None = None,
    file_name: str | None = None,
) -> ImportResult:
    """Import a workbook (path, bytes or file object). ``batch``: an existing ImportBatch to use
    (the upload page creates one up front to show progress); otherwise one is created inside the
    atomic block, so a failed or dry run leaves no trace."""
    started = time.monotonic()
    result = ImportResult(ok=False, dry_run=dry_run)
    try:
        data, name = read_bytes(path_or_file)
        result.file_name = file_name or name
        result.sha256 = sha256_hex(data)
        read = read_workbook(data, progress)
    except WorkbookError as exc:
        result.errors = [f"Workbook: {exc}"]
        return _finish(result, batch, started)

    result.rows = read.row_count
    result.warnings = list(read.warnings)
    errors = list(read.errors)
    if read.structural:
        result.errors = errors
        return _finish(result, batch, started)
    plan = build_plan(read.sheets, errors, result.warnings)
    result.counts = plan.counts()
    if errors:
        result.errors = errors
        return _finish(result, batch, started)

    from ledger.services import LedgerError, book_transactions

    touched: set[int] = set()
    own_batch = batch is None
    try:
        with _import_cache(), transaction.atomic():
            if own_batch:
                batch = ImportBatch.objects.create(
                    file_name=result.file_name[:255],
                    sha256=result.sha256,
                    user=user if getattr(user, "pk", None) else None,
                    status=ImportBatch.Status.RUNNING,
                    dry_run=dry_run,
                    file_size=len(data),
                )
            new_txns, touched = write_plan(plan, batch=batch, user=user, progress=progress)
            _drop_rows(plan)  # written: only the new transactions are needed from here on
            if progress:
                progress("booking", 0, len(new_txns))
            try:
                book_transactions(new_txns, evaluate_alerts=False, keep_entries=False)
            except LedgerError as exc:
                raise _Failed(_ledger_errors(exc, new_txns, plan)) from None
            result.entries_booked = len(new_txns)  # each new transaction is one entry (or the import failed)
            if progress:
                progress("booking", len(new_txns), len(new_txns))
            result.ok = True
            if dry_run:
                transaction.set_rollback(True)
                if own_batch:
                    batch = None
            elif own_batch:
                _record(batch, result, started)
    except _Failed as exc:
        result.ok = False
        result.errors = exc.errors
        if own_batch:
            batch = None
        return _finish(result, batch, started)
    except DatabaseError as exc:  # a rule the database enforces that phase 1 missed
        logger.exception("workbook import refused by the database")
        result.ok = False
        result.errors = [f"Workbook: the database refused the import ({exc.__class__.__name__}: {exc})"]
        if own_batch:
            batch = None
        return _finish(result, batch, started)

    if result.ok and not dry_run and touched:
        _evaluate_alerts(touched)
    return _finish(result, batch, started)


IMPORT_CACHE_KIB = 65536


@contextlib.contextmanager
def _import_cache():
    """On SQLite, a 64 MB page cache while the import's one transaction runs (the default 2 MB
    spills and re-reads index pages of a large book: 16 s of system time of an 89 s L import;
    with 64 MB, 73 s). Restored afterwards: the connection is reused by other requests."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _drop_rows(plan) -> None:
    """Free the parsed rows once written (the counts are already taken; error mapping needs
    only the sheets' column letters)."""
    for sheet in plan.sheets.values():
        sheet.rows = []
    for sheet_plan in plan.plans.values():
        sheet_plan.new = []
        sheet_plan.changed = []


def _ledger_errors(exc, new_txns, plan) -> list[str]:
    by_pk = {t.pk: t for t in new_txns}
    sheet = plan.sheets["Transactions"]
    errors = []
    for key, column, message in exc.problems or []:
        txn = by_pk.get(key)
        row = txn.source_row if txn else None
        column = column if column in sheet.letters else "amount"
        label = f"transaction {txn.txn_id}: " if txn else ""
        errors.append(f"{sheet.cell(column, row)}: {label}{message}")
    if not errors:
        errors.append(f"Transactions!A1: {exc.message}")
    return errors


def _record(batch: ImportBatch, result: ImportResult, started: float) -> None:
    batch.status = ImportBatch.Status.DONE if result.ok else ImportBatch.Status.FAILED
    result.seconds = time.monotonic() - started
    batch.summary = result.as_summary()
    batch.errors = result.errors
    batch.warnings = result.warnings
    batch.finished_at = timezone.now()
    batch.phase = "done" if result.ok else "failed"
    batch.save(update_fields=["status", "summary", "errors", "warnings", "finished_at", "phase"])


def _finish(result: ImportResult, batch: ImportBatch | None, started: float) -> ImportResult:
    result.seconds = time.monotonic() - started
    if batch is not None and batch.pk:
        _record(batch, result, started)
    result.batch = batch
    return result


def _evaluate_alerts(client_pks: set[int]) -> None:
    try:
        from risk.services import evaluate_alerts
    except ImportError:
        return
    try:
        evaluate_alerts(clients=Client.objects.filter(pk__in=client_pks))
    except Exception:  # alerts must never undo or hide a committed import
        logger.exception("alert evaluation after import failed")
