"""Bank statement parsers: ISO 20022 camt.053 and the CSV layout of docs/reconciliation.md.

Both return a :class:`ParsedStatement` (nothing is written here) or raise
:class:`StatementError` with one line saying what is wrong. XML is parsed by lxml with
entities not resolved, no network, no DTD loading, and any DOCTYPE refused (so neither an
external entity (XXE) nor an entity expansion bomb can do anything); files are capped at
:data:`MAX_BYTES`.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from atlas.money import CURRENCIES, MoneyError, parse_amount

MAX_BYTES = 10 * 1024 * 1024
CAMT053_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
CSV_COLUMNS = (
    "booking_date",
    "amount",
    "currency",
    "direction",
    "counterparty_name",
    "counterparty_iban",
    "end_to_end_id",
    "remittance_info",
    "reference",
)
CSV_OPTIONAL = ("value_date", "return_reason", "reversal")


class StatementError(ValueError):
    """A statement file that cannot be imported; ``str(exc)`` is one line for the user."""


@dataclass
class ParsedLine:
    entry_index: int
    tx_index: int
    booking_date: datetime.date
    amount: Decimal
    currency: str
    direction: str
    value_date: datetime.date | None = None
    is_reversal: bool = False
    return_reason: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    end_to_end_id: str = ""
    remittance_info: str = ""
    bank_reference: str = ""


@dataclass
class ParsedStatement:
    format: str
    message_id: str = ""
    statement_ids: list[str] = field(default_factory=list)
    account_iban: str = ""
    lines: list[ParsedLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def normalize_iban(value: str) -> str:
    return "".join((value or "").split()).upper()


def parse_statement(content: bytes, file_name: str = "") -> ParsedStatement:
    """Detect the format (XML or CSV) and parse."""
    if len(content) > MAX_BYTES:
        raise StatementError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not content.strip():
        raise StatementError("file is empty")
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<" or file_name.lower().endswith(".xml"):
        return parse_camt053(content)
    return parse_csv(content)


# ---------------------------------------------------------------- camt.053


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class _Camt:
    def __init__(self, ns: str):
        self.ns = ns

    def path(self, p: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in p.split("/"))

    def find(self, el, p: str):
        return el.find(self.path(p)) if el is not None else None

    def findall(self, el, p: str):
        return el.findall(self.path(p)) if el is not None else []

    def text(self, el, *paths: str) -> str:
        for p in paths:
            found = self.find(el, p)
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return ""


def _date(text: str, what: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(f"{what}: '{text}' is not a date (YYYY-MM-DD)") from None


def _amount(el, what: str) -> tuple[Decimal, str]:
    currency = (el.get("Ccy") or "").strip().upper()
    if currency not in CURRENCIES:
        raise StatementError(f"{what}: currency '{currency}' is not one of {', '.join(CURRENCIES)}")
    try:
        amount = parse_amount(el.text or "", currency)
    except MoneyError as exc:
        raise StatementError(f"{what}: {exc}") from None
    if amount <= 0:
        raise StatementError(f"{what}: amount must be positive, got {amount}")
    return amount, currency


def parse_camt053(content: bytes) -> ParsedStatement:
    if len(content) > MAX_BYTES:
        raise StatementError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"not well-formed XML: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementError("a DOCTYPE/DTD is not allowed in a bank statement (entities are never resolved)")
    ns = etree.QName(root).namespace or ""
    if not ns.startswith(CAMT053_NS_PREFIX):
        raise StatementError(f"not a camt.053 statement (namespace '{ns or 'none'}')")
    c = _Camt(ns)
    body = c.find(root, "BkToCstmrStmt")
    if body is None:
        raise StatementError("camt.053 without BkToCstmrStmt")
    parsed = ParsedStatement(format="camt053", message_id=c.text(body, "GrpHdr/MsgId")[:64])
    statements = c.findall(body, "Stmt")
    if not statements:
        raise StatementError("camt.053 without any Stmt")
    entry_index = 0
    for stmt in statements:
        sid = c.text(stmt, "Id")
        if sid:
            parsed.statement_ids.append(sid)
        parsed.account_iban = parsed.account_iban or normalize_iban(c.text(stmt, "Acct/Id/IBAN"))
        for ntry in c.findall(stmt, "Ntry"):
            entry_index += 1
            parsed.lines.extend(_entry_lines(c, ntry, entry_index, parsed))
    return parsed


def _entry_lines(c: _Camt, ntry, entry_index: int, parsed: ParsedStatement) -> list[ParsedLine]:
    where = f"entry {entry_index}"
    status = c.text(ntry, "Sts/Cd", "Sts")
    if status and status.upper() != "BOOK":
        parsed.skipped.append(f"{where}: status {status}, only booked (BOOK) entries are imported")
        return []
    amt_el = c.find(ntry, "Amt")
    if amt_el is None:
        raise StatementError(f"{where}: no Amt")
    entry_amount, currency = _amount(amt_el, where)
    direction = c.text(ntry, "CdtDbtInd").upper()
    if direction not in ("CRDT", "DBIT"):
        raise StatementError(f"{where}: CdtDbtInd must be CRDT or DBIT, got '{direction}'")
    reversal = c.text(ntry, "RvslInd").lower() in ("true", "1")
    booked = c.text(ntry, "BookgDt/Dt", "BookgDt/DtTm")
    if not booked:
        raise StatementError(f"{where}: no booking date (BookgDt)")
    booking_date = _date(booked, where)
    value = c.text(ntry, "ValDt/Dt", "ValDt/DtTm")
    value_date = _date(value, where) if value else None
    entry_ref = c.text(ntry, "AcctSvcrRef", "NtryRef")
    txs = [tx for dtls in c.findall(ntry, "NtryDtls") for tx in c.findall(dtls, "TxDtls")]
    if not txs:
        txs = [None]
    lines = []
    total = Decimal("0")
    for n, tx in enumerate(txs, start=1):
        tx_where = f"{where} tx {n}" if len(txs) > 1 else where
        tx_amt = c.find(tx, "AmtDtls/TxAmt/Amt")
        if tx_amt is None:
            tx_amt = c.find(tx, "Amt")
        if tx_amt is not None:
            amount, tx_currency = _amount(tx_amt, tx_where)
            if tx_currency != currency:
                raise StatementError(f"{tx_where}: currency {tx_currency} differs from the entry's {currency}")
        elif len(txs) == 1:
            amount = entry_amount
        else:
            raise StatementError(f"{tx_where}: a batch entry needs an amount per transaction")
        total += amount
        tx_direction = c.text(tx, "CdtDbtInd").upper() or direction
        incoming = tx_direction == "CRDT"
        # The counterparty is the other side: the creditor of an outgoing line, the debtor of an incoming one.
        first, second = ("Dbtr", "Cdtr") if incoming else ("Cdtr", "Dbtr")
        name = c.text(tx, f"RltdPties/{first}/Nm", f"RltdPties/{first}/Pty/Nm")
        iban = c.text(tx, f"RltdPties/{first}Acct/Id/IBAN")
        if not name and not iban:
            name = c.text(tx, f"RltdPties/{second}/Nm", f"RltdPties/{second}/Pty/Nm")
            iban = c.text(tx, f"RltdPties/{second}Acct/Id/IBAN")
        remittance = [el.text.strip() for el in c.findall(tx, "RmtInf/Ustrd") if el.text and el.text.strip()]
        for strd in c.findall(tx, "RmtInf/Strd"):
            remittance += [
                el.text.strip()
                for p in ("RfrdDocInf/Nb", "CdtrRefInf/Ref", "AddtlRmtInf")
                for el in c.findall(strd, p)
                if el.text and el.text.strip()
            ]
        e2e = c.text(tx, "Refs/EndToEndId")
        if e2e.upper() == "NOTPROVIDED":
            e2e = ""
        return_reason = c.text(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
        if not return_reason and c.find(tx, "RtrInf") is not None:
            return_reason = c.text(tx, "RtrInf/AddtlInf") or "returned"
        tx_ref = c.text(tx, "Refs/AcctSvcrRef")
        if not tx_ref and entry_ref:
            tx_ref = entry_ref if len(txs) == 1 else f"{entry_ref}/{n}"
        lines.append(
            ParsedLine(
                entry_index=entry_index,
                tx_index=n,
                booking_date=booking_date,
                value_date=value_date,
                amount=amount,
                currency=currency,
                direction=tx_direction if tx_direction in ("CRDT", "DBIT") else direction,
                is_reversal=reversal,
                return_reason=return_reason[:140],
                counterparty_name=name[:140],
                counterparty_iban=normalize_iban(iban)[:34],
                end_to_end_id=e2e[:35],
                remittance_info=" ".join(remittance),
                bank_reference=tx_ref[:64],
            )
        )
    if len(txs) > 1 and total != entry_amount:
        raise StatementError(f"{where}: transactions add up to {total}, the entry says {entry_amount}")
    return lines


# ---------------------------------------------------------------- CSV


def parse_csv(content: bytes) -> ParsedStatement:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError("CSV must be UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise StatementError("CSV has no header row") from None
    names = [h.strip().lower() for h in header]
    missing = [col for col in CSV_COLUMNS if col not in names]
    if missing:
        raise StatementError(f"CSV header lacks column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}")
    col = {name: i for i, name in enumerate(names)}
    parsed = ParsedStatement(format="csv")
    problems: list[str] = []
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            line = _csv_line(row, row_number, col, problems)
            if line is not None:
                parsed.lines.append(line)
    except csv.Error as exc:
        raise StatementError(f"CSV is malformed: {exc}") from None
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise StatementError("; ".join(problems[:3]) + more)
    return parsed


def _csv_line(row, n: int, col: dict[str, int], problems: list[str]) -> ParsedLine | None:
    def cell(name: str) -> str:
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    before = len(problems)
    currency = cell("currency").upper()
    if currency not in CURRENCIES:
        problems.append(f"line {n}: currency '{currency}' is not one of {', '.join(CURRENCIES)}")
    amount = None
    try:
        amount = parse_amount(cell("amount"), currency if currency in CURRENCIES else "EUR")
        if amount <= 0:
            problems.append(f"line {n}: amount must be positive (the direction gives the sign), got {amount}")
    except MoneyError as exc:
        problems.append(f"line {n}: {exc}")
    direction = cell("direction").upper()
    if direction not in ("CRDT", "DBIT"):
        problems.append(f"line {n}: direction must be CRDT or DBIT, got '{cell('direction')}'")
    dates = {}
    for name in ("booking_date", "value_date"):
        value = cell(name)
        if not value:
            dates[name] = None
            continue
        try:
            dates[name] = datetime.date.fromisoformat(value)
        except ValueError:
            problems.append(f"line {n}: {name} '{value}' is not a date (YYYY-MM-DD)")
    if not dates.get("booking_date") and "booking_date" not in " ".join(problems[before:]):
        problems.append(f"line {n}: booking_date is required")
    reversal = cell("reversal").lower()
    if reversal not in ("", "true", "false", "1", "0", "yes", "no"):
        problems.append(f"line {n}: reversal must be true or false, got '{reversal}'")
    if len(problems) > before:
        return None
    e2e = cell("end_to_end_id")
    return ParsedLine(
        entry_index=n,
        tx_index=1,
        booking_date=dates["booking_date"],
        value_date=dates.get("value_date"),
        amount=amount,
        currency=currency,
        direction=direction,
        is_reversal=reversal in ("true", "1", "yes"),
        return_reason=cell("return_reason")[:140],
        counterparty_name=cell("counterparty_name")[:140],
        counterparty_iban=normalize_iban(cell("counterparty_iban"))[:34],
        end_to_end_id="" if e2e.upper() == "NOTPROVIDED" else e2e[:35],
        remittance_info=cell("remittance_info"),
        bank_reference=cell("reference")[:64],
    )
