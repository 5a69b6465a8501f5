"""Phase 2: write checked chunks in bulk (call inside ``transaction.atomic()``).

New rows are inserted in chunks (:func:`ledger.bulk.insert_rows`), changed rows
``bulk_update``d; every written record gets its provenance (import batch, sheet, row). Foreign
keys are resolved from ``{id: pk}`` dicts kept per sheet, never by per-row queries. The
Transactions sheet's chunks return the new transactions (saved, with pks) for booking.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from clients.importer.validate import FIELDS, SheetPlan
from clients.models import Client, Debtor, ImportBatch, Partner, Receivable, Transaction
from ledger.bulk import insert_rows
from payouts.models import Payout, PayoutStatus
from portfolio.models import Loan

CHUNK = 2000
PROVENANCE = ["import_batch", "source_sheet", "source_row"]


def _prov(row, sheet: str, batch: ImportBatch) -> dict:
    return {"import_batch_id": batch.pk, "source_sheet": sheet, "source_row": row.number}


@functools.cache
def _relations(model) -> dict[str, str]:
    """A model's relation field names → their attnames (``client`` → ``client_id``)."""
    return {f.name: f.attname for f in model._meta.concrete_fields if f.is_relation and f.attname != f.name}


def _attnames(model, values: dict) -> dict:
    """Field names → column attnames; model instances → their pks (for :func:`insert_rows`)."""
    relations = _relations(model)
    out = {}
    for name, value in values.items():
        attname = relations.get(name)
        if attname is not None:
            name, value = attname, getattr(value, "pk", value)
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


class Writer:
    """Writes checked chunks sheet by sheet (in :data:`SHEET_ORDER`), keeping each sheet's
    ``{id: pk}`` so later sheets resolve their foreign keys without queries."""

    def __init__(self, existing: dict[str, dict], sheets: dict, *, batch: ImportBatch, user, progress: Callable | None):
        self.sheets = sheets
        self.batch = batch
        self.user = user
        self.progress = progress
        self.done = 0
        self.touched_clients: set[int] = set()
        self.now = timezone.now()
        self.partner_pk = {pid: p.pk for pid, p in existing["Partners"].items()}
        self.client_pk = {cid: c.pk for cid, c in existing["Clients"].items()}
        self.debtor_pk = {did: d.pk for did, d in existing["Debtors"].items()}
        self.receivable_pk = {rid: r.pk for rid, r in existing["Receivables"].items()}

    def tick(self, n: int):
        self.done += n
        if self.progress:
            self.progress("writing", self.done, self.done)

    def write(self, name: str, plan: SheetPlan):
        """Write one checked chunk of sheet ``name``; the Transactions sheet returns its new
        transactions (for booking), the others ``{id: pk}`` of their new records."""
        return getattr(self, "_" + name.lower())(plan)

    def save(self, model, sheet: str, plan: SheetPlan, build: Callable, apply: Callable, fields: list[str]) -> dict:
        """Create new rows, update changed ones; return {id: pk} for the new records."""
        key = self.sheets[sheet].spec.key
        pks = {}
        for start in range(0, len(plan.new), CHUNK):
            rows = plan.new[start : start + CHUNK]
            dicts = [_attnames(model, {**build(row.values), **_prov(row, sheet, self.batch)}) for row in rows]
            names = sorted({name for d in dicts for name in d})
            new_pks = insert_rows(
                model, names, [tuple(d.get(f) for f in names) for d in dicts], returning=True, fixed_sizes=True
            )
            for d, pk in zip(dicts, new_pks, strict=True):
                pks[d[key]] = pk
            self.tick(len(rows))
        changed = []
        for obj, row in plan.changed:
            apply(obj, row.values)
            obj.import_batch, obj.source_sheet, obj.source_row = self.batch, sheet, row.number
            changed.append(obj)
        if changed:
            model.objects.bulk_update(changed, fields + PROVENANCE, batch_size=CHUNK)
            self.tick(len(changed))
        return pks

    def _partners(self, plan):
        self.partner_pk |= self.save(
            Partner,
            "Partners",
            plan,
            lambda v: {"partner_id": v["partner_id"], "name": v["name"]},
            lambda o, v: setattr(o, "name", v["name"]),
            ["name"],
        )

    def _client_fields(self, v):
        d = {c: v.get(c) for c in CLIENT_COLS}
        d["iban"] = d["iban"] or ""
        d["bic"] = d["bic"] or ""
        d["partner_id"] = self.partner_pk[v["partner_id"]] if v.get("partner_id") else None
        return d

    def _clients(self, plan):
        def apply(o, v):
            for k, value in self._client_fields(v).items():
                setattr(o, k, value)
            self.touched_clients.add(o.pk)

        new = self.save(
            Client,
            "Clients",
            plan,
            lambda v: {"client_id": v["client_id"], **self._client_fields(v)},
            apply,
            [*CLIENT_COLS, "partner"],
        )
        self.client_pk |= new
        self.touched_clients |= set(new.values())

    def _debtors(self, plan):
        cols = ["name", "country", "concentration_limit"]
        self.debtor_pk |= self.save(
            Debtor,
            "Debtors",
            plan,
            lambda v: {"debtor_id": v["debtor_id"], **{c: v.get(c) for c in cols}},
            lambda o, v: [setattr(o, c, v.get(c)) for c in cols],
            cols,
        )

    def _receivables(self, plan):
        cols = ["invoice_number", "issue_date", "due_date", "currency", "face_value"]

        def fields(v):
            d = {c: v[c] for c in cols}
            d["client_id"] = self.client_pk[v["client_id"]]
            d["debtor_id"] = self.debtor_pk[v["debtor_id"]]
            return d

        def apply(o, v):
            for k, value in fields(v).items():
                setattr(o, k, value)
            self.touched_clients.add(o.client_id)

        self.save(  # their pks are looked up per Transactions chunk (SheetPlan.receivable_pks), not kept
            Receivable,
            "Receivables",
            plan,
            lambda v: {"receivable_id": v["receivable_id"], **fields(v)},
            apply,
            [*cols, "client", "debtor"],
        )

    def _transactions(self, plan) -> list[NewTransaction]:
        """Only new ones (a booked transaction never changes)."""
        new_txns: list[NewTransaction] = []
        rows = plan.new
        client_pk, batch_pk = self.client_pk, self.batch.pk
        receivable_pk, written_pk = self.receivable_pk, plan.receivable_pks
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
                        (written_pk.get(rid) or receivable_pk[rid]) if rid else None,
                        v.get("reference") or "",
                        row.number,
                    )
                )
            pks = insert_rows(
                Transaction,
                [*TXN_FIELDS, "import_batch_id", "source_sheet"],
                [(*t, batch_pk, "Transactions") for t in chunk],
                returning=True,
                fixed_sizes=True,  # a few statement texts only: SQLite keeps each one prepared
            )
            new_txns.extend(NewTransaction(pk, *t) for pk, t in zip(pks, chunk, strict=True))
            self.tick(len(chunk))
        self.touched_clients |= {t.client_id for t in new_txns}
        return new_txns

    def _loans(self, plan):
        cols = ["principal", "currency", "annual_rate", "start_date", "term_months", "method", "day_count"]

        def fields(v):
            d = {c: v.get(c) for c in cols}
            d["day_count"] = d["day_count"] or Loan.DayCount.D30_360
            d["client_id"] = self.client_pk[v["client_id"]]
            return d

        self.save(
            Loan,
            "Loans",
            plan,
            lambda v: {"loan_id": v["loan_id"], **fields(v)},
            lambda o, v: [setattr(o, k, value) for k, value in fields(v).items()],
            [*cols, "client"],
        )

    def _payouts(self, plan):
        """Imported as ready / requested / blocked; the importer is the requester."""
        user = self.user

        def fields(v, old_status=None):
            d = {
                "client_id": self.client_pk[v["client_id"]],
                "amount": v["amount"],
                "currency": v["currency"],
                "status": v["status"],
                "reference": v.get("reference") or "",
            }
            if v["status"] == PayoutStatus.REQUESTED and old_status != PayoutStatus.REQUESTED:
                d["requested_by"] = user if getattr(user, "pk", None) else None
                d["requested_at"] = self.now
            return d

        def apply(o, v):
            for k, value in fields(v, o.status).items():
                setattr(o, k, value)
            self.touched_clients.add(o.client_id)

        new = self.save(
            Payout,
            "Payouts",
            plan,
            lambda v: {"payout_id": v["payout_id"], **fields(v)},
            apply,
            ["client", "amount", "currency", "status", "reference", "requested_by", "requested_at"],
        )
        if new:
            self.touched_clients |= set(Payout.objects.filter(pk__in=new.values()).values_list("client_id", flat=True))


CLIENT_COLS = [f for f in FIELDS["Clients"] if f != "partner_id"]  # the partner is written as an object
TXN_FIELDS = ["txn_id", "date", "client_id", "type", "amount", "currency", "receivable_id", "reference", "source_row"]
