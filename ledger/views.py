"""Ledger pages: read-only for every role (DOMAIN.md section 1: finance reads the ledger).

- ``/ledger/`` (:func:`accounts`): accounts with their maintained balance and posting count,
  filtered, sorted, paginated, exportable (``?export=csv|xlsx``).
- ``/ledger/accounts/<pk>/`` (:func:`statement`): an account statement in booking order
  (oldest first, by posting id: the order ``Posting.balance_after`` was computed in), with
  keyset pagination (``?after=<posting id>`` = the next 100, ``?before=<posting id>`` = the
  previous 100, ``?last=1`` = the latest 100): no OFFSET and no COUNT(*), so every page costs
  the same at any depth. ``?export=csv`` streams every posting in the date range.
- ``/ledger/entries/<pk>/`` (:func:`entry`): a journal entry, its postings and totals, and the
  walk back to its source (DOMAIN.md section 7).

Nothing here writes.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from atlas.models import AuditEvent
from atlas.money import ZERO, fmt
from atlas.roles import ALL, require_roles
from atlas.tables import export_links, export_table, requested_export
from clients.models import Transaction
from ledger.filters import AccountFilter, StatementFilterForm
from ledger.models import Account, JournalEntry, Posting, ReserveTranche, Side, SourceType
from ledger.tables import AccountTable, client_url

PAGE_SIZE = 100
ACCOUNTS_PER_PAGE = 50


def _url(name: str, pk, fallback: str) -> str:
    """``reverse`` a page another app owns, or its documented plain path while it is not routed yet."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return fallback


def _positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


# --------------------------------------------------------------------------- accounts


@require_roles(*ALL)
@require_GET
def accounts(request):
    queryset = Account.objects.select_related("client")
    account_filter = AccountFilter(request.GET or None, queryset=queryset)
    table = AccountTable(account_filter.qs)
    RequestConfig(request, paginate={"per_page": ACCOUNTS_PER_PAGE}).configure(table)
    fmt_name = requested_export(request)
    if fmt_name:
        return export_table(table, fmt_name)
    return render(
        request,
        "ledger/accounts.html",
        {"filter": account_filter, "table": table, "export_links": export_links(request)},
    )


# --------------------------------------------------------------------------- statement


def describe(entry: JournalEntry) -> str:
    """Description/reference of an entry for statements: its description (the transaction's
    reference when it has one), with the transaction id it came from."""
    text = entry.description or f"{entry.source_type} {entry.source_key}"
    txn = entry.transaction
    if txn is not None and txn.txn_id not in text:
        text = f"{text} (txn {txn.txn_id})"
    return text


class _Echo:
    """A file-like object whose ``write`` returns the line (for streaming csv.writer)."""

    def write(self, value):
        return value


STATEMENT_HEADERS = [
    "posting_id",
    "date",
    "entry_id",
    "type",
    "description",
    "debit",
    "credit",
    "balance",
]


def _statement_lines(postings):
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(STATEMENT_HEADERS)
    for p in postings.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                p.pk,
                p.date.isoformat(),
                p.entry_id,
                p.entry.type,
                describe(p.entry),
                fmt(p.amount) if p.side == Side.DEBIT else "",
                fmt(p.amount) if p.side == Side.CREDIT else "",
                fmt(p.balance_after),
            ]
        )


def _row(posting: Posting) -> dict:
    return {
        "posting": posting,
        "entry": posting.entry,
        "description": describe(posting.entry),
        "debit": fmt(posting.amount) if posting.side == Side.DEBIT else "",
        "credit": fmt(posting.amount) if posting.side == Side.CREDIT else "",
        "balance": fmt(posting.balance_after),
    }


@require_roles(*ALL)
@require_GET
def statement(request, pk):
    account = get_object_or_404(Account.objects.select_related("client"), pk=pk)
    form = StatementFilterForm(request.GET)
    postings = form.apply(Posting.objects.filter(account=account)).select_related("entry", "entry__transaction")

    if request.GET.get("export") == "csv":
        owner = account.client.client_id if account.client_id else "house"
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"statement-{owner}-{account.kind}-{account.currency}")
        response = StreamingHttpResponse(
            _statement_lines(postings.order_by("id")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    after = _positive_int(request.GET.get("after"))
    before = _positive_int(request.GET.get("before"))
    if before is not None or request.GET.get("last"):
        # Backwards: the PAGE_SIZE postings just before the cursor (or the latest ones).
        page_qs = postings.filter(id__lt=before) if before is not None else postings
        rows = list(page_qs.order_by("-id")[: PAGE_SIZE + 1])
        has_previous = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        rows.reverse()
        has_next = bool(rows) and postings.filter(id__gt=rows[-1].pk).exists()
    else:
        page_qs = postings.filter(id__gt=after) if after is not None else postings
        rows = list(page_qs.order_by("id")[: PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_previous = bool(rows) and postings.filter(id__lt=rows[0].pk).exists()

    keep = {}
    if form.is_valid():
        keep = {k: v.isoformat() for k, v in form.cleaned_data.items() if v}

    def link(**cursor):
        return "?" + urlencode({**keep, **cursor})

    opening = closing = None
    if rows:
        first = rows[0]
        signed = first.amount if first.side == account.normal_side else -first.amount
        opening = first.balance_after - signed
        closing = rows[-1].balance_after

    return render(
        request,
        "ledger/statement.html",
        {
            "account": account,
            "client_url": client_url(account.client.client_id) if account.client_id else None,
            "form": form,
            "filtered": bool(keep),
            "rows": [_row(p) for p in rows],
            "balance": fmt(account.balance),
            "page_debits": fmt(sum((p.amount for p in rows if p.side == Side.DEBIT), ZERO)),
            "page_credits": fmt(sum((p.amount for p in rows if p.side == Side.CREDIT), ZERO)),
            "opening": fmt(opening),
            "closing": fmt(closing),
            "page_size": PAGE_SIZE,
            "first_url": link() if has_previous else None,
            "previous_url": link(before=rows[0].pk) if has_previous else None,
            "next_url": link(after=rows[-1].pk) if has_next else None,
            "last_url": link(last=1) if has_next else None,
            "export_url": link(export="csv"),
        },
    )


# --------------------------------------------------------------------------- entry


def _provenance(record) -> dict | None:
    """The workbook file (name + SHA-256), sheet and row a record was imported from."""
    if record is None:
        return None
    batch = record.import_batch if record.import_batch_id else None
    return {
        "label": record.source_label,
        "sheet": record.source_sheet,
        "row": record.source_row,
        "file_name": batch.file_name if batch else "",
        "sha256": batch.sha256 if batch else "",
    }


def _transaction_trace(txn: Transaction | None) -> dict | None:
    if txn is None:
        return None
    receivable = txn.receivable
    return {
        "txn": txn,
        "provenance": _provenance(txn),
        "receivable": receivable,
        "receivable_provenance": _provenance(receivable),
        "debtor": receivable.debtor if receivable else None,
    }


TXN_RELATED = (
    "client",
    "import_batch",
    "receivable__import_batch",
    "receivable__debtor",
)


def entry_trace(entry: JournalEntry) -> dict:
    """Walk an entry back to what caused it (DOMAIN.md section 7). A few queries, none per row."""
    trace: dict = {"kind": entry.source_type}
    if entry.source_type == SourceType.TRANSACTION:
        txn = entry.transaction
        if txn is None and entry.source_key.isdigit():
            txn = Transaction.objects.select_related(*TXN_RELATED).filter(pk=int(entry.source_key)).first()
        trace["transaction"] = _transaction_trace(txn)
        if txn is not None:
            # A collection withholds a reserve tranche: show it and its release.
            trace["created_tranche"] = (
                ReserveTranche.objects.select_related("released_entry").filter(transaction=txn).first()
            )
    elif entry.source_type == SourceType.TRANCHE:
        tranche = (
            ReserveTranche.objects.select_related(*(f"transaction__{r}" for r in TXN_RELATED))
            .filter(released_entry=entry)
            .first()
        )
        if tranche is None and entry.source_key.isdigit():
            tranche = (
                ReserveTranche.objects.select_related(*(f"transaction__{r}" for r in TXN_RELATED))
                .filter(pk=int(entry.source_key))
                .first()
            )
        trace["tranche"] = tranche
        if tranche is not None:
            trace["transaction"] = _transaction_trace(tranche.transaction)
            trace["collection_entry"] = (
                JournalEntry.objects.filter(source_type=SourceType.TRANSACTION, transaction_id=tranche.transaction_id)
                .order_by("id")
                .first()
            )
    elif entry.source_type in {SourceType.PAYOUT, SourceType.PAYOUT_RETURN}:
        from payouts.models import Payout

        payout = None
        if entry.source_key.isdigit():
            payout = Payout.objects.select_related("client").filter(pk=int(entry.source_key)).first()
        trace["payout"] = payout
        if payout is not None:
            trace["payout_url"] = _url("payouts:detail", payout.pk, f"/payouts/{payout.pk}/")
            other = SourceType.PAYOUT if entry.source_type == SourceType.PAYOUT_RETURN else SourceType.PAYOUT_RETURN
            trace["related_payout_entry"] = JournalEntry.objects.filter(
                source_type=other, source_key=entry.source_key
            ).first()
    if entry.source_type == SourceType.REVERSAL or entry.reverses_id:
        trace["reverses"] = entry.reverses
    receivable = entry.receivable
    if receivable is not None and not (trace.get("transaction") and trace["transaction"]["receivable"]):
        trace["receivable"] = receivable
        trace["receivable_provenance"] = _provenance(receivable)
    return trace


@require_roles(*ALL)
@require_GET
def entry(request, pk):
    journal_entry = get_object_or_404(
        JournalEntry.objects.select_related(
            "client",
            "reverses",
            "receivable__debtor",
            "receivable__import_batch",
            *(f"transaction__{r}" for r in TXN_RELATED),
        ),
        pk=pk,
    )
    postings = list(journal_entry.postings.select_related("account__client").order_by("id"))
    debits = sum((p.amount for p in postings if p.side == Side.DEBIT), Decimal("0.00"))
    credits = sum((p.amount for p in postings if p.side == Side.CREDIT), Decimal("0.00"))
    audit_events = AuditEvent.objects.filter(
        object_type=JournalEntry._meta.label_lower, object_id=str(journal_entry.pk)
    ).select_related("actor")
    return render(
        request,
        "ledger/entry.html",
        {
            "entry": journal_entry,
            "client_url": client_url(journal_entry.client.client_id) if journal_entry.client_id else None,
            "postings": [
                {
                    "posting": p,
                    "account": p.account,
                    "debit": fmt(p.amount) if p.side == Side.DEBIT else "",
                    "credit": fmt(p.amount) if p.side == Side.CREDIT else "",
                    "balance_after": fmt(p.balance_after),
                }
                for p in postings
            ],
            "debits": fmt(debits),
            "credits": fmt(credits),
            "balanced": debits == credits,
            "trace": entry_trace(journal_entry),
            "reversals": list(journal_entry.reversals.all()),
            "audit_events": list(audit_events),
        },
    )
