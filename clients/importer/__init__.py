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

from atlas.perf import padded
from clients.importer.reader import (
    SheetData,
    SheetStream,
    WorkbookError,
    open_book,
    read_source,
    sheet_layout,
)
from clients.importer.schema import SHEETS
from clients.importer.validate import Checker as _Checker
from clients.importer.writer import Writer as _Writer
from clients.models import Client, ImportBatch, Receivable, Transaction

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


class _Unsorted(Exception):
    """The Transactions sheet is not in date order: book after the last chunk instead."""


ROWS_CHUNK = 2000  # rows of a large sheet checked, written and booked at a time
LARGE_SHEETS = ("Receivables", "Transactions")  # streamed in chunks; the others are read whole


def _chunks(rows, size):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
        data, name, file_size, result.sha256 = read_source(path_or_file)
        result.file_name = file_name or name
        book = open_book(data)
    except WorkbookError as exc:
        result.errors = [f"Workbook: {exc}"]
        return _finish(result, batch, started)
    try:
        return _run_twice(
            book, file_size, result, user=user, dry_run=dry_run, progress=progress, batch=batch, started=started
        )
    finally:
        book.close()


def _run_twice(book, file_size, result, *, user, dry_run, progress, batch, started) -> ImportResult:
    try:
        try:
            return _run(
                book, file_size, result, user=user, dry_run=dry_run, progress=progress, batch=batch, started=started
            )
        except _Unsorted:
            pass  # run again after this block: inside it, the exception would keep the first run's frame alive
        result.warnings, result.errors, result.counts = [], [], {}
        return _run(
            book,
            file_size,
            result,
            user=user,
            dry_run=dry_run,
            progress=progress,
            batch=batch,
            started=started,
            stream=False,
        )
    except WorkbookError as exc:  # a sheet that cannot be read past its first rows: nothing was kept
        result.ok = False
        result.errors = [f"Workbook: {exc}"]
        result.counts = {}
        return _finish(result, None if batch is None or not batch.pk else batch, started)


def _new_batch(result: ImportResult, *, user, dry_run: bool, file_size: int) -> ImportBatch:
    """The import's own batch, created inside its atomic block (a failed or dry run leaves none)."""
    return ImportBatch.objects.create(
        file_name=result.file_name[:255],
        sha256=result.sha256,
        user=user if getattr(user, "pk", None) else None,
        status=ImportBatch.Status.RUNNING,
        dry_run=dry_run,
        file_size=file_size,
    )


def _run(book, file_size, result, *, user, dry_run, progress, batch, started, stream: bool = True) -> ImportResult:
    """Read, check, write and book sheet by sheet in one atomic block. ``stream``: book the
    Transactions sheet chunk by chunk (it must be in date order, else :class:`_Unsorted`);
    otherwise book every new transaction in one call after the sheet."""
    from ledger.services import LedgerError, TransactionBooker, book_transactions
    from risk.services import totals_deferred

    read_errors: list[str] = []
    warnings: list[str] = []
    layout = sheet_layout(book, read_errors, warnings)
    structural = layout.structural
    sheets: dict[str, SheetData] = {}
    own_batch = batch is None
    touched: set[int] = set()
    rows_read = 0
    try:
        with _import_cache(), transaction.atomic(), totals_deferred():  # risk totals rebuilt once at the end
            checker = None
            writer = None
            booker = TransactionBooker(keep_entries=False, fixed_sizes=True, fresh=True)
            unbooked: list = []  # stream=False: every new transaction, booked after the sheet
            booked = 0
            last_date = None
            for spec in SHEETS:
                sheet_stream = SheetStream(book, spec, layout.by_key.get(spec.name), read_errors, warnings)
                sheets[spec.name] = sheet_stream.sheet
                opened = sheet_stream.open()
                structural = structural or sheet_stream.structural
                if checker is None:
                    checker = _Checker(sheets, warnings)
                if not opened:
                    rows_read += sheet_stream.row_count
                    continue
                size = ROWS_CHUNK if spec.name in LARGE_SHEETS else 1 << 62
                for chunk in _chunks(sheet_stream.rows(), size):
                    if structural:  # cross-sheet checks are skipped; keep reading for cell errors
                        continue
                    plan = checker.check(spec.name, chunk)
                    if read_errors or checker.has_errors():
                        continue  # nothing more is written; everything is rolled back at the end
                    if writer is None:
                        if own_batch:
                            batch = _new_batch(result, user=user, dry_run=dry_run, file_size=file_size)
                        writer = _Writer(checker.existing, sheets, batch=batch, user=user, progress=progress)
                        checker.written_rows_of["Transactions"] = _written_rows(Transaction, "txn_id", batch)
                        checker.written_rows_of["Receivables"] = _written_rows(Receivable, "receivable_id", batch)
                        checker.written_receivables = _written_receivables(batch)
                    written = writer.write(spec.name, plan)
                    if spec.name == "Transactions":
                        checker.written("Transactions", [t.txn_id for t in written])
                    elif spec.name == "Receivables":
                        checker.written("Receivables", [row.values["receivable_id"] for row in plan.new])
                    if spec.name != "Transactions" or not written:
                        continue
                    if not stream:
                        unbooked.extend(written)
                        continue
                    for t in written:
                        if last_date is not None and t.date < last_date:
                            raise _Unsorted
                        last_date = t.date
                    book_transactions(written, booker=booker, keep_entries=False, evaluate_alerts=False, final=False)
                    booked += len(written)
                    if progress:
                        progress("booking", booked, booked)
                rows_read += sheet_stream.row_count
                if progress and sheet_stream.sheet.present:
                    progress("reading", rows_read, rows_read)
            result.rows = rows_read
            result.warnings = warnings
            result.counts = checker.counts() if not structural else {}
            errors = read_errors if structural else read_errors + checker.errors()
            if errors:
                raise _Failed(errors)
            if writer is None:  # an empty workbook: the batch still records the import
                if own_batch:
                    batch = _new_batch(result, user=user, dry_run=dry_run, file_size=file_size)
                writer = _Writer(checker.existing, sheets, batch=batch, user=user, progress=progress)
            try:
                if stream:
                    book_transactions([], booker=booker, keep_entries=False, evaluate_alerts=False, final=True)
                else:
                    booked = len(unbooked)
                    if progress:
                        progress("booking", 0, booked)
                    book_transactions(unbooked, evaluate_alerts=False, keep_entries=False)
            except LedgerError as exc:
                raise _Failed(_ledger_errors(exc, unbooked, sheets["Transactions"])) from None
            touched = writer.touched_clients
            if not dry_run:
                _store_loan_schedules()
            result.entries_booked = booked  # each new transaction is one entry (or the import failed)
            if progress:
                progress("booking", booked, booked)
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

    # The booker's per-receivable state, the checker's indexes and the booked rows are done with:
    # dropped before the alert evaluation builds its own (they set an L import's peak memory).
    booker = checker = writer = unbooked = None
    if result.ok and not dry_run and touched:
        _evaluate_alerts(touched)
    return _finish(result, batch, started)


IMPORT_CACHE_KIB = 8192


@contextlib.contextmanager
def _import_cache():
    """On SQLite, an 8 MB page cache while the import's one transaction runs (the default 2 MB
    spilled and re-read index pages of a large book when it was written all at once; streamed in
    chunks, a small cache costs little CPU and keeps the L import's memory bounded).
    Restored afterwards: the connection is reused by other requests."""
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


# The lookups below filter by the unique key alone and compare the batch in Python: with both in
# the WHERE clause SQLite (no statistics on a fresh book) walks the import-batch index, i.e. every
# row this import wrote so far, once per chunk (quadratic: ≈ 20 s of an L import). Their id lists
# are padded to a few lengths (:func:`atlas.perf.padded`).

_NO_ID = "#" * 65  # longer than any id (ids are at most 64 characters): matches no record


def _padded(ids) -> list:
    return padded(ids, lambda i: f"{_NO_ID}{i}")


def _written_rows(model, key: str, batch: ImportBatch):
    """``ids → {id: source_row}`` of the records of ``model`` this import inserted (unique ``key``)."""

    def lookup(ids) -> dict:
        rows = model.objects.filter(**{f"{key}__in": _padded(ids)}).values_list(key, "source_row", "import_batch_id")
        return {value: source_row for value, source_row, batch_pk in rows if batch_pk == batch.pk}

    return lookup


def _written_receivables(batch: ImportBatch):
    """``receivable_ids → {receivable_id: (client_id, pk)}`` of the receivables this import inserted."""

    def lookup(ids) -> dict:
        rows = Receivable.objects.filter(receivable_id__in=_padded(ids)).values_list(
            "receivable_id", "client__client_id", "pk", "import_batch_id"
        )
        return {rid: (client_id, pk) for rid, client_id, pk, batch_pk in rows if batch_pk == batch.pk}

    return lookup


def _ledger_errors(exc, new_txns, sheet: SheetData) -> list[str]:
    by_pk = getattr(exc, "transactions", None) or {t.pk: t for t in new_txns}
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


def _store_loan_schedules() -> None:
    """Store the schedules of the loans this import added or changed, in its transaction (the portfolio
    pages read stored schedules; without this the first page after an import would write them)."""
    from portfolio.services import refresh_schedules

    refresh_schedules()


def _evaluate_alerts(client_pks: set[int]) -> None:
    try:
        from risk.services import evaluate_alerts
    except ImportError:
        return
    try:
        evaluate_alerts(clients=Client.objects.filter(pk__in=client_pks))
    except Exception:  # alerts must never undo or hide a committed import
        logger.exception("alert evaluation after import failed")
