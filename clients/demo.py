"""The demo workbook generator (``make_demo_workbook PATH --clients N --seed S``).

Deterministic (one ``random.Random(seed)``, dates relative to :data:`ANCHOR`) and realistic:
several currencies, partners, shared debtors with concentration limits, ~50 receivables per
client with advances up to the cap, partial / full / late collections, fees, interest, reserve
drawdowns (some clients end with a reserve shortfall), top-ups, partner holds and releases,
adjustments of both signs, over-limit and concentrated clients, overdue receivables, loans of
every method and day count, payouts in ready / requested / blocked.

Every client's events are simulated with the posting rules (DOMAIN.md section 4) in the order
the ledger books them, so the importer never refuses the result. Written with openpyxl in
write-only mode.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from atlas.money import ZERO, round_money

ANCHOR = datetime.date(2026, 11, 1)
D = datetime.timedelta
CENT = Decimal("0.01")

CURRENCIES = [("EUR", 62), ("GBP", 12), ("USD", 9), ("SEK", 6), ("CHF", 6), ("PLN", 5)]
# currency → [(country, iban country, bank codes, account digits)]
BANKS = {
    "EUR": [("DE", "DE", ["37040044", "50010517", "10070000", "20041133"], 10), ("AT", "AT", ["19043", "12000"], 11)],
    "GBP": [("GB", "GB", ["NWBK601613", "BARC200000", "LOYD309634"], 8)],
    "USD": [("US", "IE", ["AIBK931152", "BOFI900017"], 8)],
    "SEK": [("SE", "SE", ["500", "800", "300"], 10)],
    "CHF": [("CH", "CH", ["00762", "00230", "00700"], 12)],
    "PLN": [("PL", "PL", ["10901014", "10201026", "11402004"], 16)],
}
DEBTOR_COUNTRIES = ["DE", "FR", "NL", "IT", "ES", "GB", "SE", "CH", "PL", "AT", "BE", "US"]
WORDS_A = ["Nord", "Alpen", "Baltic", "Rhein", "Atlas", "Kestrel", "Silver", "Oak", "Harbor", "Summit", "Vega", "Delta"]
WORDS_B = ["Logistik", "Textiles", "Foods", "Metals", "Digital", "Pharma", "Energy", "Parts", "Retail", "Freight"]
SUFFIX = {"DE": "GmbH", "AT": "GmbH", "GB": "Ltd", "US": "Inc.", "SE": "AB", "CH": "AG", "PL": "Sp. z o.o."}

TXN_HEADERS = ["txn_id", "date", "client_id", "type", "amount", "currency", "receivable_id", "reference"]


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _iban(rng: random.Random, country: str, banks: list[str], digits: int) -> tuple[str, str]:
    from schwifty import IBAN

    for _ in range(50):
        bank = rng.choice(banks)
        account = "".join(rng.choice("0123456789") for _ in range(digits))
        try:
            iban = IBAN.generate(country, bank_code=bank, account_code=account)
            IBAN(str(iban))
        except Exception:  # noqa: S112 - a national check failed: draw another account number
            continue
        bic = iban.bic
        return str(iban), str(bic) if bic else ""
    raise RuntimeError(f"could not generate an IBAN for {country}")


class _Client:
    """One client's terms and the simulation of its events under the posting rules."""

    def __init__(self, index: int):
        self.index = index
        self.client_id = f"CL{index:05d}"
        self.txns: list[list] = []
        self.receivables: list[list] = []
        self.rec_state: dict[str, dict] = {}
        self.rr = ZERO
        self.prr = ZERO
        self.factoring = ZERO
        self.settlement = ZERO
        self.tranches: list[tuple[datetime.date, Decimal]] = []


def generate(n_clients: int, seed: int) -> dict[str, list[list]]:
    """Sheet name → rows (header first) for ``n_clients`` clients."""
    rng = random.Random(seed)
    n_partners = max(2, n_clients // 15)
    partners = [["partner_id", "name"]] + [
        [f"PRT{p:03d}", f"{rng.choice(WORDS_A)} {rng.choice(['Pay', 'Market', 'Acquiring', 'Commerce'])} {p}"]
        for p in range(1, n_partners + 1)
    ]
    n_debtors = max(12, n_clients * 3)
    debtors = [["debtor_id", "name", "country", "concentration_limit"]]
    for d in range(1, n_debtors + 1):
        limit = rng.choice([0.15, 0.2, 0.3, 0.35]) if rng.random() < 0.1 else None
        debtors.append(
            [f"DB{d:06d}", f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {d}", rng.choice(DEBTOR_COUNTRIES), limit]
        )
    shared = [f"DB{d:06d}" for d in range(1, min(n_debtors, 20) + 1)]  # big debtors many clients sell on

    clients = [
        [
            "client_id",
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
        ]
    ]
    receivables = [
        [
            "receivable_id",
            "client_id",
            "debtor_id",
            "invoice_number",
            "issue_date",
            "due_date",
            "currency",
            "face_value",
        ]
    ]
    loans = [
        [
            "loan_id",
            "client_id",
            "principal",
            "currency",
            "annual_rate",
            "start_date",
            "term_months",
            "method",
            "day_count",
        ]
    ]
    payouts = [["payout_id", "client_id", "amount", "currency", "status", "reference"]]
    all_txns: list[tuple] = []
    currencies = [c for c, _ in CURRENCIES]
    weights = [w for _, w in CURRENCIES]
    loan_no = 0
    invalid_iban_client = 3 if n_clients > 3 else 0

    for i in range(1, n_clients + 1):
        c = _Client(i)
        currency = "EUR" if i <= 2 else rng.choices(currencies, weights)[0]
        country, iban_country, banks, digits = rng.choice(BANKS[currency])
        iban, bic = _iban(rng, iban_country, banks, digits)
        if i == invalid_iban_client:
            iban = iban[:-1] + str((int(iban[-1]) + 1) % 10)  # checksum no longer matches
        roll = rng.random()
        status = "suspended" if roll < 0.03 else "on_hold" if roll < 0.08 else "active"
        advance_rate = Decimal(rng.choice(["0.70", "0.75", "0.80", "0.85", "0.90"]))
        reserve_rate = Decimal(rng.choice(["0.05", "0.10", "0.15", "0.20"]))
        hold_days = rng.choice([30, 45, 60, 90])
        fee_rate = rng.choice([Decimal("0.005"), Decimal("0.01"), Decimal("0.015"), None])
        partner = rng.choice(partners[1:])[0] if rng.random() < 0.3 else None
        partner_rate = Decimal(rng.choice(["0.02", "0.05", "0.08"])) if partner else None
        kind = rng.random()
        over_limit, concentrated, shortfall = kind < 0.08, 0.08 <= kind < 0.18, 0.18 <= kind < 0.32
        own_debtors = rng.sample(range(1, n_debtors + 1), k=min(n_debtors, rng.randint(10, 16)))
        own = [f"DB{d:06d}" for d in own_debtors]
        if rng.random() < 0.4:
            own[0] = rng.choice(shared)

        events: list[tuple] = []  # (date, seq, type, amount|None, receivable_id, reference)
        seq = 0

        def add(date, type_, amount, rid=None, ref="", events=events):
            nonlocal seq
            seq += 1
            events.append((date, seq, type_, amount, rid, ref))

        n_recs = rng.randint(40, 60)
        for k in range(1, n_recs + 1):
            rid = f"{c.client_id}-R{k:03d}"
            issue = ANCHOR - D(days=rng.randint(5, 330))
            due = issue + D(days=rng.choice([30, 45, 60, 90]))
            face = _money(rng, 500, 40000)
            debtor = own[0] if concentrated and rng.random() < 0.6 else rng.choice(own)
            receivables.append([rid, c.client_id, debtor, f"INV-{i:05d}-{k:04d}", issue, due, currency, face])
            c.rec_state[rid] = {
                "face": face,
                "cap": round_money(advance_rate * face),
                "adv": ZERO,
                "red": ZERO,
                "col": ZERO,
            }
            if rng.random() < 0.92:
                cap = c.rec_state[rid]["cap"]
                first = cap if rng.random() < 0.7 else _q(cap * Decimal(rng.randint(50, 95)) / 100)
                add(issue + D(days=rng.randint(0, 3)), "advance", first, rid)
                if first < cap and rng.random() < 0.5:
                    add(issue + D(days=rng.randint(4, 10)), "advance", None, rid, "top up to cap")
            last_day = ANCHOR - D(days=1)
            outcome = rng.random()
            # Most clients' debtors pay; troubled (kind ≥ 0.85) and reserve-short clients carry the long-overdue book.
            on_time, late_by, partial_by = (0.55, 0.72, 0.85) if kind >= 0.85 or shortfall else (0.80, 0.96, 0.997)
            if due <= ANCHOR - D(days=5):
                if outcome < on_time:
                    add(min(last_day, due + D(days=rng.randint(-5, 3))), "collection", face, rid)
                elif outcome < late_by:
                    late = due + D(days=rng.randint(10, 75))
                    if late <= last_day:
                        add(late, "collection", face, rid, "late payment")
                elif outcome < partial_by:
                    part = _q(face * Decimal(rng.randint(20, 80)) / 100)
                    add(min(last_day, due + D(days=rng.randint(0, 10))), "collection", part, rid, "partial payment")
                    if rng.random() < 0.5:
                        add(min(last_day, due + D(days=rng.randint(11, 40))), "collection", None, rid, "balance")
                else:
                    dd = due + D(days=rng.randint(20, 60))
                    if dd <= last_day and (shortfall or rng.random() < 0.3):
                        add(dd, "reserve_drawdown", None, rid, "recourse: debtor default")
            elif outcome < 0.1:
                add(min(last_day, issue + D(days=rng.randint(5, 20))), "collection", _q(face / 4), rid, "early part")
        months = sorted({(e[0].year, e[0].month) for e in events})
        for y, m in months:
            month_end = (datetime.date(y, m, 28) + D(days=4)).replace(day=1) - D(days=1)
            if month_end >= ANCHOR:
                continue
            if fee_rate:
                add(month_end, "fee", ("fee", y, m), None, f"factoring fee {y}-{m:02d}")
            add(month_end, "interest", ("interest", y, m), None, f"interest {y}-{m:02d}")
            if partner:
                add(month_end, "partner_rr_hold", ("hold", y, m), None, f"partner hold {y}-{m:02d}")
                add(month_end, "partner_rr_release", ("release", y, m), None, f"partner release {y}-{m:02d}")
        if rng.random() < 0.35 and not shortfall:
            add(ANCHOR - D(days=rng.randint(10, 60)), "reserve_topup", _money(rng, 100, 2000), None, "reserve top-up")
        for _ in range(rng.randint(1, 2)):
            amount = _money(rng, 5, 500) * rng.choice([1, -1])
            add(ANCHOR - D(days=rng.randint(5, 200)), "adjustment", amount, None, "manual correction")

        _simulate(c, events, advance_rate, reserve_rate, hold_days, fee_rate, partner_rate, rng)
        for n, (date, _seq, type_, amount, rid, ref) in enumerate(c.txns, start=1):
            all_txns.append((date, i, n, [f"T{i:05d}-{n:04d}", date, c.client_id, type_, amount, currency, rid, ref]))

        exposure = c.factoring
        if over_limit and exposure > 2000:
            limit = (exposure * Decimal("0.85") / 1000).quantize(Decimal(1)) * 1000
        else:
            factor = Decimal(rng.choice(["0.45", "0.6", "0.75", "0.85", "0.93"]))
            limit = max(Decimal(50000), ((exposure / factor) / 1000).quantize(Decimal(1)) * 1000 + 1000)
        clients.append(
            [
                c.client_id,
                f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {SUFFIX.get(country, 'GmbH')}",
                country,
                currency,
                status,
                limit,
                advance_rate,
                reserve_rate,
                hold_days,
                fee_rate,
                iban,
                bic,
                partner,
                partner_rate,
            ]
        )
        if rng.random() < 0.25 or i <= 9:
            loan_no += 1
            method = ("annuity", "linear", "bullet")[loan_no % 3]
            day_count = ("30/360", "ACT/360", "ACT/365")[(loan_no // 3) % 3]
            start = ANCHOR - D(days=rng.randint(0, 400))
            loans.append(
                [
                    f"LN{loan_no:05d}",
                    c.client_id,
                    _money(rng, 10, 500) * 1000,
                    currency,
                    Decimal(rng.choice(["0.045", "0.06", "0.075", "0.09"])),
                    start,
                    rng.choice([12, 24, 36, 48]),
                    method,
                    day_count,
                ]
            )
        if c.settlement > 200:
            roll = rng.random()
            payout_status = (
                "ready" if roll < 0.3 else "requested" if roll < 0.42 else "blocked" if roll < 0.48 else None
            )
            if payout_status:
                amount = _q(c.settlement * Decimal(rng.randint(10, 60)) / 100)
                payouts.append([f"PO{i:05d}", c.client_id, amount, currency, payout_status, f"payout {c.client_id}"])

    all_txns.sort(key=lambda t: (t[0], t[1], t[2]))
    transactions = [TXN_HEADERS] + [t[3] for t in all_txns]
    return {
        "Partners": partners,
        "Clients": clients,
        "Debtors": debtors,
        "Receivables": receivables,
        "Transactions": transactions,
        "Loans": loans,
        "Payouts": payouts,
    }


def _simulate(c: _Client, events, advance_rate, reserve_rate, hold_days, fee_rate, partner_rate, rng):
    """Apply the posting rules in booking order; resolve dynamic amounts; drop what would break them."""
    monthly = defaultdict(lambda: {"adv": ZERO, "col": ZERO})
    holds: dict[tuple, Decimal] = {}
    for date, seq, type_, amount, rid, ref in sorted(events, key=lambda e: (e[0], e[1])):
        r = c.rec_state.get(rid) if rid else None
        if type_ == "advance":
            room = r["cap"] - r["adv"]
            amount = room if amount is None else min(amount, room)
            if amount <= 0:
                continue
            r["adv"] += amount
            c.factoring += amount
            c.settlement += amount
            monthly[(date.year, date.month)]["adv"] += amount
        elif type_ == "collection":
            room = r["face"] - r["col"]
            amount = room if amount is None else min(amount, room)
            if amount <= 0:
                continue
            outstanding = r["adv"] - r["red"]
            repay = min(amount, outstanding)
            rest = amount - repay
            reserve = round_money(rest * reserve_rate)
            r["col"] += amount
            r["red"] += repay
            c.factoring -= repay
            c.rr += reserve
            c.settlement += rest - reserve
            monthly[(date.year, date.month)]["col"] += amount
        elif type_ == "reserve_drawdown":
            outstanding = r["adv"] - r["red"]
            amount = min(outstanding, c.rr)
            if amount <= 0:
                continue
            r["red"] += amount
            c.rr -= amount
            c.factoring -= amount
        elif type_ in ("fee", "interest"):
            _, y, m = amount
            if type_ == "fee":
                amount = round_money(monthly[(y, m)]["adv"] * fee_rate)
            else:
                amount = round_money(c.factoring * Decimal("0.0075"))
            if amount <= 0:
                continue
            c.settlement -= amount
        elif type_ == "partner_rr_hold":
            _, y, m = amount
            amount = round_money(monthly[(y, m)]["col"] * partner_rate)
            if amount <= 0:
                continue
            holds[(y, m)] = amount
            c.prr += amount
        elif type_ == "partner_rr_release":
            _, y, m = amount
            y0, m0 = (y, m - 3) if m > 3 else (y - 1, m + 9)
            amount = min(holds.get((y0, m0), ZERO), c.prr)
            if amount <= 0:
                continue
            c.prr -= amount
            c.settlement += amount
        elif type_ == "reserve_topup":
            c.rr += amount
            c.settlement -= amount
        elif type_ == "adjustment":
            c.settlement += amount
        c.txns.append((date, seq, type_, amount, rid, ref))


def write_workbook(sheets: dict[str, list[list]], path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import NamedStyle

    wb = Workbook(write_only=True)
    date_style = NamedStyle(name="iso_date", number_format="yyyy-mm-dd")
    wb.add_named_style(date_style)
    from openpyxl.cell import WriteOnlyCell

    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            out = []
            for value in row:
                if isinstance(value, Decimal):
                    out.append(float(value))
                elif isinstance(value, datetime.date):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.style = "iso_date"
                    out.append(cell)
                else:
                    out.append(value)
            ws.append(out)
    wb.save(path)


def make_demo_workbook(path, *, clients: int, seed: int) -> dict[str, int]:
    sheets = generate(clients, seed)
    write_workbook(sheets, path)
    return {name: len(rows) - 1 for name, rows in sheets.items()}
