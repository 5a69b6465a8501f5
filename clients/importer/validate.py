"""Phase 1, part 2: cross-sheet checks against the workbook and the database, and the plan.

Existing records are loaded once into dicts (no per-row queries). Every row ends up in
exactly one of ``new``, ``changed`` or ``unchanged``; every problem is collected as
``Sheet!Cell: message``. Nothing is written here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from clients.importer.reader import Row, SheetData
from clients.importer.schema import NEEDS_RECEIVABLE, SHEET_ORDER
from clients.models import Client, Debtor, Partner, Receivable, Transaction
from payouts.models import Payout, PayoutStatus
from portfolio.models import Loan

IMPORTABLE_PAYOUT_STATUSES = (PayoutStatus.READY, PayoutStatus.REQUESTED, PayoutStatus.BLOCKED)

# Model field ← workbook column, per sheet (foreign keys are compared by their string ids).
FIELDS = {
    "Partners": ("name",),
    "Clients": (
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
        "partner_id",
        "partner_reserve_rate",
    ),
    "Debtors": ("name", "country", "concentration_limit"),
    "Receivables": ("client_id", "debtor_id", "invoice_number", "issue_date", "due_date", "currency", "face_value"),
    "Transactions": ("date", "client_id", "type", "amount", "currency", "receivable_id", "reference"),
    "Loans": ("client_id", "principal", "currency", "annual_rate", "start_date", "term_months", "method", "day_count"),
    "Payouts": ("client_id", "amount", "currency", "status", "reference"),
}


@dataclass
class SheetPlan:
    new: list[Row] = field(default_factory=list)
    changed: list[tuple[object, Row]] = field(default_factory=list)  # (existing model instance, row)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "unchanged": self.unchanged}


@dataclass
class Plan:
    sheets: dict[str, SheetData]
    errors: list[str]
    warnings: list[str]
    plans: dict[str, SheetPlan] = field(default_factory=lambda: {name: SheetPlan() for name in SHEET_ORDER})
    existing: dict[str, dict] = field(default_factory=dict)  # sheet → {id: instance}

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: self.plans[name].counts() for name in SHEET_ORDER if self.sheets[name].present}


class _Existing:
    """Everything already in the database that the workbook can refer to, loaded once."""

    def __init__(self):
        self.partners = {p.partner_id: p for p in Partner.objects.all()}
        partner_ids = {p.pk: p.partner_id for p in self.partners.values()}
        self.clients = {c.client_id: c for c in Client.objects.all()}
        for c in self.clients.values():
            c._partner_code = partner_ids.get(c.partner_id)
        client_ids = {c.pk: c.client_id for c in self.clients.values()}
        self.client_ids = client_ids
        self.debtors = {d.debtor_id: d for d in Debtor.objects.all()}
        debtor_ids = {d.pk: d.debtor_id for d in self.debtors.values()}
        self.receivables = {}
        receivable_ids = {}
        for r in Receivable.objects.all().iterator(chunk_size=5000):
            r._client_code = client_ids[r.client_id]
            r._debtor_code = debtor_ids[r.debtor_id]
            self.receivables[r.receivable_id] = r
            receivable_ids[r.pk] = r.receivable_id
        self.transactions = {}
        self.booked_receivables = set()
        for txn_id, *rest in Transaction.objects.values_list(
            "txn_id", "date", "client_id", "type", "amount", "currency", "receivable_id", "reference"
        ).iterator(chunk_size=5000):
            date, client_pk, type_, amount, currency, receivable_pk, reference = rest
            receivable_code = receivable_ids.get(receivable_pk) if receivable_pk else None
            if receivable_code:
                self.booked_receivables.add(receivable_code)
            self.transactions[txn_id] = {
                "date": date,
                "client_id": client_ids[client_pk],
                "type": type_,
                "amount": amount,
                "currency": currency,
                "receivable_id": receivable_code,
                "reference": reference or "",
            }
        self.loans = {}
        for loan in Loan.objects.all():
            loan._client_code = client_ids[loan.client_id]
            self.loans[loan.loan_id] = loan
        self.payouts = {}
        self.ready_payout_by_client: dict[str, str] = {}
        for p in Payout.objects.all():
            p._client_code = client_ids[p.client_id]
            self.payouts[p.payout_id] = p
            if p.status == PayoutStatus.READY:
                self.ready_payout_by_client[p._client_code] = p.payout_id


def _current(obj, name: str):
    """A model instance's value for a workbook column (string ids for foreign keys)."""
    special = {
        "partner_id": "_partner_code",
        "client_id": "_client_code",
        "debtor_id": "_debtor_code",
    }
    value = getattr(obj, special.get(name, name))
    if name in ("iban", "bic", "reference") and value is None:
        return ""
    return value


def build_plan(sheets: dict[str, SheetData], errors: list[str], warnings: list[str]) -> Plan:
    plan = Plan(sheets, errors, warnings)
    db = _Existing()
    plan.existing = {
        "Partners": db.partners,
        "Clients": db.clients,
        "Debtors": db.debtors,
        "Receivables": db.receivables,
        "Transactions": db.transactions,
        "Loans": db.loans,
        "Payouts": db.payouts,
    }

    def err(sheet: str, column: str, row: Row, message: str):
        errors.append(f"{sheets[sheet].cell(column, row.number)}: {message}")

    # Unique ids within each sheet.
    first_seen: dict[str, dict[str, int]] = {}
    for name in SHEET_ORDER:
        data = sheets[name]
        key = data.spec.key
        seen = first_seen.setdefault(name, {})
        kept = []
        for row in data.rows:
            value = row.values.get(key)
            if value is None:
                continue
            if value in seen:
                err(name, key, row, f"duplicate {key} '{value}' (first on row {seen[value]})")
                continue
            seen[value] = row.number
            kept.append(row)
        data.rows = kept

    wb = {name: {row.values[sheets[name].spec.key]: row for row in sheets[name].rows} for name in SHEET_ORDER}

    def final_client(client_id):
        """(currency, exists) of a client as it will be after the import."""
        row = wb["Clients"].get(client_id)
        if row is not None:
            return row.values.get("currency"), True
        client = db.clients.get(client_id)
        return (client.currency, True) if client else (None, False)

    def check_client(sheet: str, row: Row) -> str | None:
        client_id = row.values.get("client_id")
        if client_id is None:
            return None
        currency, exists = final_client(client_id)
        if not exists:
            err(sheet, "client_id", row, f"unknown client_id '{client_id}'")
            return None
        given = row.values.get("currency")
        if currency and given and "currency" not in row.bad and given != currency:
            err(sheet, "currency", row, f"currency {given} is not client {client_id}'s currency {currency}")
        return currency

    # Clients: partner references, currency changes.
    for row in sheets["Clients"].rows:
        v = row.values
        pid = v.get("partner_id")
        if pid and pid not in wb["Partners"] and pid not in db.partners:
            err("Clients", "partner_id", row, f"unknown partner_id '{pid}'")
        old = db.clients.get(v["client_id"])
        if old and v.get("currency") and old.currency != v["currency"]:
            err(
                "Clients",
                "currency",
                row,
                f"client {old.client_id} is in {old.currency}; its currency cannot change to {v['currency']}",
            )

    # Receivables.
    for row in sheets["Receivables"].rows:
        v = row.values
        check_client("Receivables", row)
        did = v.get("debtor_id")
        if did and did not in wb["Debtors"] and did not in db.debtors:
            err("Receivables", "debtor_id", row, f"unknown debtor_id '{did}'")
        if v.get("issue_date") and v.get("due_date") and v["due_date"] < v["issue_date"]:
            err("Receivables", "due_date", row, f"due_date {v['due_date']} is before issue_date {v['issue_date']}")
        old = db.receivables.get(v["receivable_id"])
        if old is not None and old.receivable_id in db.booked_receivables:
            for column in ("client_id", "currency", "face_value"):
                if column in row.bad or v.get(column) is None:
                    continue
                if _current(old, column) != v[column]:
                    err(
                        "Receivables",
                        column,
                        row,
                        f"receivable {old.receivable_id} has booked transactions: its {column} cannot change "
                        f"({_current(old, column)} → {v[column]})",
                    )

    def receivable_owner(rid):
        row = wb["Receivables"].get(rid)
        if row is not None:
            return row.values.get("client_id"), True
        r = db.receivables.get(rid)
        return (r._client_code, True) if r else (None, False)

    # Transactions.
    for row in sheets["Transactions"].rows:
        v = row.values
        check_client("Transactions", row)
        type_, amount = v.get("type"), v.get("amount")
        if type_ and amount is not None:
            if type_ == "adjustment":
                if amount == 0:
                    err("Transactions", "amount", row, "amount of an adjustment must not be zero")
                if not v.get("reference"):
                    err("Transactions", "reference", row, "reference (the reason) is required for an adjustment")
            elif amount <= 0:
                err("Transactions", "amount", row, f"amount '{amount}' must be greater than zero for {type_}")
        rid = v.get("receivable_id")
        if type_ in NEEDS_RECEIVABLE and not rid and "receivable_id" not in row.bad:
            err("Transactions", "receivable_id", row, f"receivable_id is required for {type_}")
        if rid:
            owner, exists = receivable_owner(rid)
            if not exists:
                err("Transactions", "receivable_id", row, f"unknown receivable_id '{rid}'")
            elif v.get("client_id") and owner and owner != v["client_id"]:
                err(
                    "Transactions",
                    "receivable_id",
                    row,
                    f"receivable {rid} belongs to client {owner}, not {v['client_id']}",
                )

    for row in sheets["Loans"].rows:
        check_client("Loans", row)

    # Payouts: one ready payout per client (workbook and database together).
    ready_by_client = dict(db.ready_payout_by_client)
    for pid, p in db.payouts.items():
        if pid in wb["Payouts"] and p.status == PayoutStatus.READY:
            ready_by_client.pop(p._client_code, None)
    for row in sheets["Payouts"].rows:
        v = row.values
        check_client("Payouts", row)
        old = db.payouts.get(v["payout_id"])
        if old is not None and old.status not in IMPORTABLE_PAYOUT_STATUSES:
            continue
        if v.get("status") == "ready" and v.get("client_id"):
            other = ready_by_client.get(v["client_id"])
            if other and other != v["payout_id"]:
                err("Payouts", "status", row, f"client {v['client_id']} already has a ready payout ({other})")
            else:
                ready_by_client[v["client_id"]] = v["payout_id"]

    # New / changed / unchanged.
    for name in SHEET_ORDER:
        existing = plan.existing[name]
        sheet_plan = plan.plans[name]
        columns = FIELDS[name]
        key = sheets[name].spec.key
        for row in sheets[name].rows:
            old = existing.get(row.values[key])
            if old is None:
                sheet_plan.new.append(row)
                continue
            if name == "Transactions":
                diff = [c for c in columns if c not in row.bad and old[c] != row.values.get(c)]
                if diff:
                    err(name, diff[0], row, f"transaction {row.values[key]} is already booked and cannot be changed")
                else:
                    sheet_plan.unchanged += 1
                continue
            diff = [c for c in columns if c not in row.bad and _current(old, c) != row.values.get(c)]
            if name == "Payouts" and diff and old.status not in IMPORTABLE_PAYOUT_STATUSES:
                warnings.append(
                    f"{sheets[name].cell('status', row.number)}: payout {old.payout_id} is already {old.status}; "
                    "row ignored"
                )
                sheet_plan.unchanged += 1
                continue
            if diff:
                sheet_plan.changed.append((old, row))
            else:
                sheet_plan.unchanged += 1
    return plan


def ids_by_sheet(plan: Plan) -> dict[str, set]:
    out = defaultdict(set)
    for name in SHEET_ORDER:
        out[name] = {row.values[plan.sheets[name].spec.key] for row in plan.sheets[name].rows}
    return out
