"""Phase 2: write the plan in bulk (call inside ``transaction.atomic()``).

New rows are ``bulk_create``d in chunks, changed rows ``bulk_update``d; every written record
gets its provenance (import batch, sheet, row). Foreign keys are resolved from dicts built
once, never by per-row queries. Returns the new transactions (saved, with pks) for booking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from clients.importer.validate import Plan
from clients.models import Client, Debtor, ImportBatch, Partner, Receivable, Transaction
from ledger.bulk import insert_rows
from payouts.models import Payout, PayoutStatus
from portfolio.models import Loan

CHUNK = 2000
PROVENANCE = ["import_batch", "source_sheet", "source_row"]


def _prov(row, sheet: str, batch: ImportBatch) -> dict:
    return {"import_batch_id": batch.pk, "source_sheet": sheet, "source_row": row.number}


def _attnames(model, values: dict) -> dict:
    """Field names → column attnames; model instances → their pks (for :func:`insert_rows`)."""
    out = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        if field.is_relation and field.attname != name:
            name, value = field.attname, getattr(value, "pk", value)
        out[name] = value
    return out


@dataclass(slots=True)
class NewTransaction:
    """A transaction just inserted, with what booking and error mapping need (no model instance:
    building 300,000 of them costs more than inserting them)."""

    pk: int
    txn_id: str
    date: object
    client_id: int
    type: str
    amount: object
    currency: str
    receivable_id: int | None
    reference: str
    source_row: int


class _Writer:
    def __init__(self, plan: Plan, batch: ImportBatch, user, progress: Callable | None):
        self.plan = plan
        self.batch = batch
        self.user = user
        self.progress = progress
        self.total = sum(len(p.new) + len(p.changed) for p in plan.plans.values())
        self.done = 0
        self.touched_clients: set[int] = set()
        self.now = timezone.now()

    def tick(self, n: int):
        self.done += n
        if self.progress:
            self.progress("writing", self.done, self.total)

    def save(self, model, sheet: str, build: Callable, apply: Callable, fields: list[str]) -> dict:
        """Create new rows, update changed ones; return {id: pk} for the sheet's records."""
        sheet_plan = self.plan.plans[sheet]
        key = self.plan.sheets[sheet].spec.key
        pks = {}
        for start in range(0, len(sheet_plan.new), CHUNK):
            rows = sheet_plan.new[start : start + CHUNK]
            dicts = [_attnames(model, {**build(row.values), **_prov(row, sheet, self.batch)}) for row in rows]
            fields = sorted({name for d in dicts for name in d})
            new_pks = insert_rows(model, fields, [tuple(d.get(f) for f in fields) for d in dicts], returning=True)
            for d, pk in zip(dicts, new_pks, strict=True):
                pks[d[key]] = pk
            self.tick(len(rows))
        changed = []
        for obj, row in sheet_plan.changed:
            apply(obj, row.values)
            obj.import_batch, obj.source_sheet, obj.source_row = self.batch, sheet, row.number
            changed.append(obj)
        if changed:
            model.objects.bulk_update(changed, fields + PROVENANCE, batch_size=CHUNK)
            self.tick(len(changed))
        return pks


def write_plan(plan: Plan, *, batch: ImportBatch, user=None, progress=None) -> tuple[list[NewTransaction], set[int]]:
    w = _Writer(plan, batch, user, progress)
    ex = plan.existing

    # Partners
    partner_pk = {pid: p.pk for pid, p in ex["Partners"].items()}
    partner_pk |= w.save(
        Partner,
        "Partners",
        lambda v: {"partner_id": v["partner_id"], "name": v["name"]},
        lambda o, v: setattr(o, "name", v["name"]),
        ["name"],
    )

    # Clients
    client_cols = [
        "name",
        "country",
        "currency",
        "status",
        "credit_limit",
        "advance_rate",
        "reserve_rate",
        "reserve_hold_days",
        "fee_rate",
        "iban",
        "bic",
        "partner_reserve_rate",
    ]

    def client_fields(v):
        d = {c: v.get(c) for c in client_cols}
        d["iban"] = d["iban"] or ""
        d["bic"] = d["bic"] or ""
        d["partner_id"] = partner_pk[v["partner_id"]] if v.get("partner_id") else None
        return d

    def client_apply(o, v):
        for k, value in client_fields(v).items():
            setattr(o, k, value)
        w.touched_clients.add(o.pk)

    client_pk = {cid: c.pk for cid, c in ex["Clients"].items()}
    new_clients = w.save(
        Client,
        "Clients",
        lambda v: {"client_id": v["client_id"], **client_fields(v)},
        client_apply,
        [*client_cols, "partner"],
    )
    client_pk |= new_clients
    w.touched_clients |= set(new_clients.values())

    # Debtors
    debtor_cols = ["name", "country", "concentration_limit"]
    debtor_pk = {did: d.pk for did, d in ex["Debtors"].items()}
    debtor_pk |= w.save(
        Debtor,
        "Debtors",
        lambda v: {"debtor_id": v["debtor_id"], **{c: v.get(c) for c in debtor_cols}},
        lambda o, v: [setattr(o, c, v.get(c)) for c in debtor_cols],
        debtor_cols,
    )

    # Receivables
    rec_cols = ["invoice_number", "issue_date", "due_date", "currency", "face_value"]

    def rec_fields(v):
        d = {c: v[c] for c in rec_cols}
        d["client_id"] = client_pk[v["client_id"]]
        d["debtor_id"] = debtor_pk[v["debtor_id"]]
        return d

    def rec_apply(o, v):
        for k, value in rec_fields(v).items():
            setattr(o, k, value)
        w.touched_clients.add(o.client_id)

    receivable_pk = {rid: r.pk for rid, r in ex["Receivables"].items()}
    receivable_pk |= w.save(
        Receivable,
        "Receivables",
        lambda v: {"receivable_id": v["receivable_id"], **rec_fields(v)},
        rec_apply,
        [*rec_cols, "client", "debtor"],
    )

    # Transactions: only new ones (a booked transaction never changes).
    new_txns: list[NewTransaction] = []
    rows = plan.plans["Transactions"].new
    txn_fields = [
        "txn_id",
        "date",
        "client_id",
        "type",
        "amount",
        "currency",
        "receivable_id",
        "reference",
        "source_row",
    ]
    for start in range(0, len(rows), CHUNK):
        chunk = []
        for row in rows[start : start + CHUNK]:
            v = row.values
            rid = v.get("receivable_id")
            chunk.append(
                (
                    v["txn_id"],
                    v["date"],
                    client_pk[v["client_id"]],
                    v["type"],
                    v["amount"],
                    v["currency"],
                    receivable_pk[rid] if rid else None,
                    v.get("reference") or "",
                    row.number,
                )
            )
        pks = insert_rows(
            Transaction,
            [*txn_fields, "import_batch_id", "source_sheet"],
            [(*t, batch.pk, "Transactions") for t in chunk],
            returning=True,
        )
        new_txns.extend(NewTransaction(pk, *t) for pk, t in zip(pks, chunk, strict=True))
        w.tick(len(chunk))
    w.touched_clients |= {t.client_id for t in new_txns}

    # Loans
    loan_cols = ["principal", "currency", "annual_rate", "start_date", "term_months", "method", "day_count"]

    def loan_fields(v):
        d = {c: v.get(c) for c in loan_cols}
        d["day_count"] = d["day_count"] or Loan.DayCount.D30_360
        d["client_id"] = client_pk[v["client_id"]]
        return d

    w.save(
        Loan,
        "Loans",
        lambda v: {"loan_id": v["loan_id"], **loan_fields(v)},
        lambda o, v: [setattr(o, k, value) for k, value in loan_fields(v).items()],
        [*loan_cols, "client"],
    )

    # Payouts (imported as ready / requested / blocked; the importer is the requester).
    def payout_fields(v, old_status=None):
        d = {
            "client_id": client_pk[v["client_id"]],
            "amount": v["amount"],
            "currency": v["currency"],
            "status": v["status"],
            "reference": v.get("reference") or "",
        }
        if v["status"] == PayoutStatus.REQUESTED and old_status != PayoutStatus.REQUESTED:
            d["requested_by"] = user if getattr(user, "pk", None) else None
            d["requested_at"] = w.now
        return d

    def payout_apply(o, v):
        for k, value in payout_fields(v, o.status).items():
            setattr(o, k, value)
        w.touched_clients.add(o.client_id)

    new_payouts = w.save(
        Payout,
        "Payouts",
        lambda v: {"payout_id": v["payout_id"], **payout_fields(v)},
        payout_apply,
        ["client", "amount", "currency", "status", "reference", "requested_by", "requested_at"],
    )
    if new_payouts:
        w.touched_clients |= set(Payout.objects.filter(pk__in=new_payouts.values()).values_list("client_id", flat=True))
    return new_txns, w.touched_clients
