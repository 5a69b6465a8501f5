"""Reads for the payout pages: the audit trail and the trace back (DOMAIN.md section 7).

:func:`payout_trace` walks payout → its journal entry (and return) → the credits to the client's settlement
account up to that date (transactions and reserve releases that funded it) → their receivables → the workbook
file, sheet and row. A fixed number of queries whatever the history.
"""

from __future__ import annotations

from django.db.models import F, Prefetch

from atlas.models import AuditEvent
from ledger.models import AccountKind, JournalEntry, Posting, Side, SourceType
from payouts.models import Payout

FUNDING_ROWS = 25

# The payout's own columns the queue's table shows (and exports); the client's and the users' columns come
# as annotations, so a row is one model instance (not four: no Client or User is built per row).
QUEUE_FIELDS = ("payout_id", "amount", "currency", "status", "checks", "batch", "updated_at")


def queue_payouts(queryset=None):
    """The rows of ``/payouts/`` (``payouts.tables.PayoutTable``) from ``queryset`` (default: every payout),
    e.g. a filter's result: order and page it as a queryset. Count over ``queryset`` itself (the annotations'
    joins are for the shown page)."""
    if queryset is None:
        queryset = Payout.objects.all()
    return queryset.only(*QUEUE_FIELDS).annotate(
        client_code=F("client__client_id"),
        client_name=F("client__name"),
        requested_by_name=F("requested_by__username"),
        approved_by_name=F("approved_by__username"),
    )


def payout_audit(payout):
    return list(
        AuditEvent.objects.filter(object_type="payouts.payout", object_id=str(payout.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def batch_audit(batch):
    return list(
        AuditEvent.objects.filter(object_type="payouts.payoutbatch", object_id=str(batch.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def _provenance(record):
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


def payout_trace(payout) -> dict:
    entries = {
        e.source_type: e
        for e in JournalEntry.objects.filter(
            source_type__in=[SourceType.PAYOUT, SourceType.PAYOUT_RETURN], source_key=str(payout.pk)
        ).prefetch_related(Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("id")))
    }
    entry = entries.get(SourceType.PAYOUT)
    funding_qs = (
        Posting.objects.filter(
            account__client_id=payout.client_id, account__kind=AccountKind.SETTLEMENT, side=Side.CREDIT
        )
        .select_related(
            "entry",
            "entry__transaction",
            "entry__transaction__import_batch",
            "entry__transaction__receivable",
            "entry__transaction__receivable__import_batch",
            "entry__transaction__receivable__debtor",
        )
        .order_by("-date", "-id")
    )
    if entry is not None:
        funding_qs = funding_qs.filter(date__lte=entry.date, entry_id__lt=entry.pk)
    funding = []
    for posting in funding_qs[:FUNDING_ROWS]:
        txn = posting.entry.transaction
        receivable = txn.receivable if txn else None
        funding.append(
            {
                "posting": posting,
                "entry": posting.entry,
                "txn": txn,
                "provenance": _provenance(txn),
                "receivable": receivable,
                "receivable_provenance": _provenance(receivable),
                "debtor": receivable.debtor if receivable else None,
            }
        )
    return {
        "entry": entry,
        "return_entry": entries.get(SourceType.PAYOUT_RETURN),
        "funding": funding,
        "funding_limit": FUNDING_ROWS,
        "provenance": _provenance(payout) if payout.source_sheet else None,
    }
