"""Phase 1, part 2: cross-sheet checks against the workbook and the database, and the plan.

Existing records are loaded once into dicts (no per-row queries). Every row ends up in
exactly one of ``new``, ``changed`` or ``unchanged``; every problem is collected as
``Sheet!Cell: message``. Nothing is written here.
"""

from __future__ import annotations

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
    """A chunk's rows to write: new rows and (existing instance, row) pairs that change."""

    new: list[Row] = field(default_factory=list)
    changed: list[tuple[object, Row]] = field(default_factory=list)  # (existing model instance, row)
    receivable_pks: dict = field(default_factory=dict)  # Transactions: receivable_id → pk of those this import wrote


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


class Checker:
    """The cross-sheet checks, fed sheet by sheet in :data:`SHEET_ORDER` and, for a large sheet,
    chunk by chunk (every check looks only at the row, earlier sheets and the database).

    Keeps compact indexes only (each sheet's ids → first row, client currencies, receivable
    owners). Errors are collected per kind and sheet and joined by :meth:`errors` in the order a
    whole-book check gives them: duplicates sheet by sheet, then the reference checks
    (Clients, Receivables, Transactions, Loans, Payouts), then changes to booked transactions.
    """

    def __init__(self, sheets: dict[str, SheetData], warnings: list[str]):
        self.sheets = sheets
        self.warnings = warnings
        self.db = db = _Existing()
        self.existing = {
            "Partners": db.partners,
            "Clients": db.clients,
            "Debtors": db.debtors,
            "Receivables": db.receivables,
            "Transactions": db.transactions,
            "Loans": db.loans,
            "Payouts": db.payouts,
        }
        self.duplicates = {name: [] for name in SHEET_ORDER}
        self.references = {name: [] for name in SHEET_ORDER}
        self.booked = {name: [] for name in SHEET_ORDER}
        self.first_seen: dict[str, dict] = {name: {} for name in SHEET_ORDER}
        self.counts_ = {name: {"new": 0, "changed": 0, "unchanged": 0} for name in SHEET_ORDER}
        self.client_currency: dict = {}  # Clients sheet: client_id → currency
        self.receivable_owner: dict = {}  # Receivables sheet: receivable_id → client_id
        self._strings: dict = {}
        # sheet → function(ids) → {id: row} of rows this import inserted (set by the importer once
        # it writes): the Receivables' and Transactions' ids are not kept in memory once written.
        self.written_rows_of: dict = {}
        # receivable_ids → {receivable_id: (client_id, pk)} of receivables this import inserted (their
        # owners are then not kept in memory either)
        self.written_receivables = None
        self._written_receivables: dict = {}

    def written(self, name: str, ids) -> None:
        """These ids of sheet ``name`` were just inserted by this import: from now on their first
        rows are looked up in the database (:attr:`written_rows_of`) instead of kept in memory."""
        seen = self.first_seen[name]
        owners = self.receivable_owner if name == "Receivables" else {}
        for value in ids:
            seen.pop(value, None)
            owners.pop(value, None)

    def written_rows(self, name: str, ids) -> dict:
        """``{id: row}`` of the ids this import has already inserted (``written_rows_of[name]``)."""
        ids = [i for i in ids if i is not None]
        return self.written_rows_of[name](ids) if ids else {}

    def _intern(self, value):
        return self._strings.setdefault(value, value) if value.__class__ is str else value

    def has_errors(self) -> bool:
        return any(self.duplicates.values()) or any(self.references.values()) or any(self.booked.values())

    def errors(self) -> list[str]:
        out = []
        for kind in (self.duplicates, self.references, self.booked):
            for name in SHEET_ORDER:
                out.extend(kind[name])
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: dict(self.counts_[name]) for name in SHEET_ORDER if self.sheets[name].present}

    def _err(self, kind: dict, sheet: str, column: str, row: Row, message: str) -> None:
        kind[sheet].append(f"{self.sheets[sheet].cell(column, row.number)}: {message}")

    def _final_client(self, client_id):
        """(currency, exists) of a client as it will be after the import."""
        if client_id in self.client_currency:
            return self.client_currency[client_id], True
        client = self.db.clients.get(client_id)
        return (client.currency, True) if client else (None, False)

    def _check_client(self, sheet: str, row: Row) -> None:
        client_id = row.values.get("client_id")
        if client_id is None:
            return
        currency, exists = self._final_client(client_id)
        if not exists:
            self._err(self.references, sheet, "client_id", row, f"unknown client_id '{client_id}'")
            return
        given = row.values.get("currency")
        if currency and given and "currency" not in row.bad and given != currency:
            self._err(
                self.references,
                sheet,
                "currency",
                row,
                f"currency {given} is not client {client_id}'s currency {currency}",
            )

    def check(self, name: str, rows) -> SheetPlan:
        """Check a chunk of a sheet's rows (after every earlier chunk and sheet); return what to write."""
        key = self.sheets[name].spec.key
        seen = self.first_seen[name]
        written = self.written_rows(name, [row.values.get(key) for row in rows]) if name in self.written_rows_of else {}
        kept = []
        for row in rows:
            value = row.values.get(key)
            if value is None:
                continue
            first = seen.get(value) or written.get(value)
            if first is not None:
                self._err(self.duplicates, name, key, row, f"duplicate {key} '{value}' (first on row {first})")
                continue
            seen[value] = row.number
            kept.append(row)
        self._written_receivables = {}
        if name == "Transactions" and self.written_receivables is not None:
            rids = {row.values.get("receivable_id") for row in kept} - {None}
            self._written_receivables = self.written_receivables(rids) if rids else {}
        getattr(self, "_check_" + name.lower())(kept)
        plan = self._classify(name, kept)
        plan.receivable_pks = {rid: pk for rid, (_owner, pk) in self._written_receivables.items()}
        return plan

    def _check_partners(self, rows) -> None:
        pass

    def _check_debtors(self, rows) -> None:
        pass

    def _check_clients(self, rows) -> None:
        db = self.db
        partners = self.first_seen["Partners"]
        for row in rows:
            v = row.values
            self.client_currency[v["client_id"]] = v.get("currency")
            pid = v.get("partner_id")
            if pid and pid not in partners and pid not in db.partners:
                self._err(self.references, "Clients", "partner_id", row, f"unknown partner_id '{pid}'")
            old = db.clients.get(v["client_id"])
            if old and v.get("currency") and old.currency != v["currency"]:
                self._err(
                    self.references,
                    "Clients",
                    "currency",
                    row,
                    f"client {old.client_id} is in {old.currency}; its currency cannot change to {v['currency']}",
                )

    def _check_receivables(self, rows) -> None:
        db = self.db
        debtors = self.first_seen["Debtors"]
        owners = self.receivable_owner
        for row in rows:
            v = row.values
            owners[v["receivable_id"]] = self._intern(v.get("client_id"))
            self._check_client("Receivables", row)
            did = v.get("debtor_id")
            if did and did not in debtors and did not in db.debtors:
                self._err(self.references, "Receivables", "debtor_id", row, f"unknown debtor_id '{did}'")
            if v.get("issue_date") and v.get("due_date") and v["due_date"] < v["issue_date"]:
                self._err(
                    self.references,
                    "Receivables",
                    "due_date",
                    row,
                    f"due_date {v['due_date']} is before issue_date {v['issue_date']}",
                )
            old = db.receivables.get(v["receivable_id"])
            if old is not None and old.receivable_id in db.booked_receivables:
                for column in ("client_id", "currency", "face_value"):
                    if column in row.bad or v.get(column) is None:
                        continue
                    if _current(old, column) != v[column]:
                        self._err(
                            self.references,
                            "Receivables",
                            column,
                            row,
                            f"receivable {old.receivable_id} has booked transactions: its {column} cannot change "
                            f"({_current(old, column)} → {v[column]})",
                        )

    def _receivable_owner(self, rid):
        if rid in self.receivable_owner:
            return self.receivable_owner[rid], True
        if rid in self._written_receivables:
            return self._written_receivables[rid][0], True
        r = self.db.receivables.get(rid)
        return (r._client_code, True) if r else (None, False)

    def _check_transactions(self, rows) -> None:
        err, refs = self._err, self.references
        for row in rows:
            v = row.values
            self._check_client("Transactions", row)
            type_, amount = v.get("type"), v.get("amount")
            if type_ and amount is not None:
                if type_ == "adjustment":
                    if amount == 0:
                        err(refs, "Transactions", "amount", row, "amount of an adjustment must not be zero")
                    if not v.get("reference"):
                        err(
                            refs,
                            "Transactions",
                            "reference",
                            row,
                            "reference (the reason) is required for an adjustment",
                        )
                elif amount <= 0:
                    err(refs, "Transactions", "amount", row, f"amount '{amount}' must be greater than zero for {type_}")
            rid = v.get("receivable_id")
            if type_ in NEEDS_RECEIVABLE and not rid and "receivable_id" not in row.bad:
                err(refs, "Transactions", "receivable_id", row, f"receivable_id is required for {type_}")
            if rid:
                owner, exists = self._receivable_owner(rid)
                if not exists:
                    err(refs, "Transactions", "receivable_id", row, f"unknown receivable_id '{rid}'")
                elif v.get("client_id") and owner and owner != v["client_id"]:
                    err(
                        refs,
                        "Transactions",
                        "receivable_id",
                        row,
                        f"receivable {rid} belongs to client {owner}, not {v['client_id']}",
                    )

    def _check_loans(self, rows) -> None:
        for row in rows:
            self._check_client("Loans", row)

    def _check_payouts(self, rows) -> None:
        """One ready payout per client (workbook and database together); the whole sheet at once."""
        db = self.db
        in_sheet = {row.values["payout_id"] for row in rows}
        ready_by_client = dict(db.ready_payout_by_client)
        for pid, p in db.payouts.items():
            if pid in in_sheet and p.status == PayoutStatus.READY:
                ready_by_client.pop(p._client_code, None)
        for row in rows:
            v = row.values
            self._check_client("Payouts", row)
            old = db.payouts.get(v["payout_id"])
            if old is not None and old.status not in IMPORTABLE_PAYOUT_STATUSES:
                continue
            if v.get("status") == "ready" and v.get("client_id"):
                other = ready_by_client.get(v["client_id"])
                if other and other != v["payout_id"]:
                    self._err(
                        self.references,
                        "Payouts",
                        "status",
                        row,
                        f"client {v['client_id']} already has a ready payout ({other})",
                    )
                else:
                    ready_by_client[v["client_id"]] = v["payout_id"]

    def _classify(self, name: str, rows) -> SheetPlan:
        """New / changed / unchanged."""
        existing = self.existing[name]
        plan = SheetPlan()
        counts = self.counts_[name]
        columns = FIELDS[name]
        key = self.sheets[name].spec.key
        for row in rows:
            old = existing.get(row.values[key])
            if old is None:
                plan.new.append(row)
                counts["new"] += 1
                continue
            if name == "Transactions":
                diff = [c for c in columns if c not in row.bad and old[c] != row.values.get(c)]
                if diff:
                    self._err(
                        self.booked,
                        name,
                        diff[0],
                        row,
                        f"transaction {row.values[key]} is already booked and cannot be changed",
                    )
                else:
                    counts["unchanged"] += 1
                continue
            diff = [c for c in columns if c not in row.bad and _current(old, c) != row.values.get(c)]
            if name == "Payouts" and diff and old.status not in IMPORTABLE_PAYOUT_STATUSES:
                self.warnings.append(
                    f"{self.sheets[name].cell('status', row.number)}: payout {old.payout_id} is already {old.status}; "
                    "row ignored"
                )
                counts["unchanged"] += 1
                continue
            if diff:
                plan.changed.append((old, row))
                counts["changed"] += 1
            else:
                counts["unchanged"] += 1
        return plan
