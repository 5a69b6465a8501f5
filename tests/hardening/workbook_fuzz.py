"""Hypothesis strategies for malformed workbooks: each one is built by mutating the small, valid base
workbook of ``tests/clients/workbooks.py`` so that it is *certainly* invalid, and carries the place
where an error must be reported (``Sheet!Cell`` or the sheet / ``Workbook``)."""

from __future__ import annotations

import datetime
import io
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from hypothesis import assume
from hypothesis import strategies as st

from clients.importer.reader import column_letter
from clients.importer.schema import SHEETS, TXN_TYPES
from tests.clients.workbooks import base_sheets, workbook_bytes

SPEC = {s.name: s for s in SHEETS}
REQUIRED_SHEETS = [s.name for s in SHEETS if s.required]
SHEET_NAMES_LOWER = {s.name.lower() for s in SHEETS}

MONEY = [("Clients", "credit_limit"), ("Receivables", "face_value"), ("Transactions", "amount"), ("Payouts", "amount")]
RATES = [
    ("Clients", "advance_rate"),
    ("Clients", "reserve_rate"),
    ("Clients", "fee_rate"),
    ("Debtors", "concentration_limit"),
]
DATES = [("Receivables", "issue_date"), ("Receivables", "due_date"), ("Transactions", "date"), ("Loans", "start_date")]
PRIMARY_IDS = [
    ("Clients", "client_id"),
    ("Debtors", "debtor_id"),
    ("Receivables", "receivable_id"),
    ("Transactions", "txn_id"),
]
REFERENCES = [
    ("Receivables", "client_id"),
    ("Receivables", "debtor_id"),
    ("Transactions", "client_id"),
    ("Payouts", "client_id"),
    ("Loans", "client_id"),
]
CHOICES = [("Clients", "status"), ("Transactions", "type"), ("Payouts", "status"), ("Clients", "currency")]
REQUIRED = [(s.name, c.name) for s in SHEETS for c in s.columns if c.required]

# Characters openpyxl can write (no control characters, no surrogates).
SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)


@dataclass
class Case:
    sheets: dict | None  # None: ``raw`` holds the file bytes
    where: set[str]  # an error must start with one of these (``Clients!F2``, ``Clients!``, ``Workbook``)
    what: str
    raw: bytes | None = None

    def data(self) -> bytes:
        return self.raw if self.raw is not None else workbook_bytes(self.sheets)


def cell(sheets, sheet: str, column: str, row: int) -> str:
    return f"{sheet}!{column_letter(sheets[sheet][0].index(column))}{row}"


def rows_of(sheet: str) -> int:
    return len(base_sheets()[sheet]) - 1


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return False
    return True


def _is_iso_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text.strip())
    except ValueError:
        return False
    return len(text.strip()) == 10


not_a_number = SAFE_TEXT.filter(lambda s: s.strip() != "" and not _is_number(s))
sub_cent = st.builds(
    lambda units, mills: f"{units}.{mills:03d}", st.integers(1, 10**9), st.integers(1, 999).filter(lambda m: m % 10)
)
huge = st.integers(10**16, 10**30).map(str) | st.floats(1e16, 1e300).map(float)
bad_money = st.one_of(
    not_a_number, sub_cent, huge, st.just("=SUM(1,2)"), st.just(True), st.dates().map(str).map(lambda d: d + "x")
)
bad_rate = st.one_of(
    st.floats(1.0001, 1e9),
    st.floats(-1e9, -0.0001),
    not_a_number,
    st.just("0.1234567"),
    st.just("1,5"),
)
bad_date = st.one_of(
    SAFE_TEXT.filter(lambda s: s.strip() != "" and not _is_iso_date(s)),
    st.just("2026-02-30"),
    st.just("31/01/2026"),
    st.floats(1, 1e6),
)
bad_choice = SAFE_TEXT.filter(
    lambda s: (
        s.strip() != ""
        and s.strip().lower()
        not in {
            *TXN_TYPES,
            "active",
            "on_hold",
            "suspended",
            "ready",
            "requested",
            "blocked",
            "eur",
            "gbp",
            "usd",
            "sek",
            "chf",
            "pln",
        }
    )
)


KINDS = ("money", "rate", "date", "duplicate", "reference", "choice", "blank")


@st.composite
def bad_cell(draw, kinds=KINDS) -> Case:
    """One cell made wrong in one of many ways."""
    sheets = base_sheets()
    kind = draw(st.sampled_from(kinds))
    if kind == "money":
        sheet, column = draw(st.sampled_from(MONEY))
        value = draw(bad_money)
    elif kind == "rate":
        sheet, column = draw(st.sampled_from(RATES))
        value = draw(bad_rate)
    elif kind == "date":
        sheet, column = draw(st.sampled_from(DATES))
        value = draw(bad_date)
    elif kind == "reference":
        sheet, column = draw(st.sampled_from(REFERENCES))
        value = "NOPE-" + draw(st.text("ABCDEFGHJK0123456789", min_size=1, max_size=8))
    elif kind == "choice":
        sheet, column = draw(st.sampled_from(CHOICES))
        value = draw(bad_choice)
    elif kind == "blank":
        sheet, column = draw(st.sampled_from(REQUIRED))
        value = draw(st.sampled_from(["", "   ", None]))
    else:
        sheet, column = draw(st.sampled_from(PRIMARY_IDS))
        row = draw(st.integers(3, rows_of(sheet) + 1))
        sheets[sheet][row - 1][sheets[sheet][0].index(column)] = sheets[sheet][row - 2][sheets[sheet][0].index(column)]
        return Case(sheets, {cell(sheets, sheet, column, row)}, f"duplicate {sheet}.{column} on row {row}")
    row = draw(st.integers(2, rows_of(sheet) + 1))
    sheets[sheet][row - 1][sheets[sheet][0].index(column)] = value
    if value is None or (isinstance(value, str) and not value.strip()):
        # an empty required cell; an empty optional one would be fine, so blanks only go to required columns
        assert (sheet, column) in REQUIRED
    return Case(sheets, {cell(sheets, sheet, column, row)}, f"{kind} {sheet}.{column} row {row} = {value!r}")


@st.composite
def several_bad_cells(draw) -> Case:
    """Two to four bad cells at once: every one of them must be reported (errors are collected, not first-only)."""
    # (no duplicates here: two copied ids can cancel each other out once merged)
    cases = draw(st.lists(bad_cell(kinds=[k for k in KINDS if k != "duplicate"]), min_size=2, max_size=4))
    sheets = base_sheets()
    where: set[str] = set()
    for c in cases:
        for name, rows in c.sheets.items():
            for r, row in enumerate(rows):
                for k, value in enumerate(row):
                    if value != base_sheets()[name][r][k]:
                        sheets[name][r][k] = value
    # Recompute the expected cells after merging (a later mutation may overwrite an earlier one).
    base = base_sheets()
    for name, rows in sheets.items():
        for r, row in enumerate(rows):
            for k, value in enumerate(row):
                if value != base[name][r][k]:
                    where.add(f"{name}!{column_letter(k)}{r + 1}")
    return Case(sheets, where, "; ".join(c.what for c in cases))


@st.composite
def structural(draw) -> Case:
    sheets = base_sheets()
    kind = draw(st.sampled_from(["drop sheet", "rename sheet", "drop column", "rename column", "twice"]))
    if kind in ("drop sheet", "rename sheet"):
        name = draw(st.sampled_from(REQUIRED_SHEETS))
        rows = sheets.pop(name)
        if kind == "rename sheet":
            new = draw(
                st.text("abcdefghijklmnopqrstuvwxyz XYZ0123456789_-", min_size=1, max_size=25).filter(
                    lambda t: t.strip() and t.strip().lower() not in SHEET_NAMES_LOWER
                )
            )
            sheets[new] = rows
        return Case(sheets, {f"{name}!A1"}, f"{kind} {name}")
    if kind == "twice":
        name = draw(st.sampled_from(REQUIRED_SHEETS))
        sheets[" " + name.upper() + " "] = [list(r) for r in sheets[name]]
        return Case(sheets, {f"{name}!A1"}, f"sheet {name} twice")
    sheet = draw(st.sampled_from(REQUIRED_SHEETS))
    column = draw(st.sampled_from([c.name for c in SPEC[sheet].columns if c.required]))
    index = sheets[sheet][0].index(column)
    if kind == "drop column":
        for row in sheets[sheet]:
            del row[index]
    else:
        sheets[sheet][0][index] = draw(
            st.text("abcdefghijklmnopqrstuvwxyz_ ", min_size=1, max_size=20).filter(
                lambda t: t.strip().lower() not in SPEC[sheet].by_name
            )
        )
    return Case(sheets, {f"{sheet}!A1"}, f"{kind} {sheet}.{column}")


def _rezip(data: bytes, *, drop=(), add=None, compression=zipfile.ZIP_DEFLATED) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for n in src.namelist():
            if n not in drop:
                z.writestr(n, src.read(n))
        for n, content in (add or {}).items():
            z.writestr(n, content)
    return out.getvalue()


BASE_BYTES = workbook_bytes(base_sheets())
SHEET_MEMBERS = [n for n in zipfile.ZipFile(io.BytesIO(BASE_BYTES)).namelist() if n.startswith("xl/worksheets/")]


def zip_bomb(unpacked: int) -> bytes:
    """A real .xlsx whose Clients sheet unpacks to ``unpacked`` bytes (a cell of one repeated letter)."""
    src = zipfile.ZipFile(io.BytesIO(BASE_BYTES))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n in src.namelist():
            content = src.read(n)
            if n == "xl/worksheets/sheet2.xml":
                head, tail = content.split(b"</sheetData>")
                filler = b'<row r="99"><c r="A99" t="inlineStr"><is><t>' + b"A" * unpacked + b"</t></is></c></row>"
                content = head + filler + b"</sheetData>" + tail
            z.writestr(n, content)
    return out.getvalue()


def _inflate(compressed) -> bytes | None:
    """The member's bytes as a zip reader gets them, or None when the deflate stream is broken."""
    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(bytes(compressed))
    except zlib.error:
        return None


@st.composite
def bad_file(draw) -> Case:
    kind = draw(
        st.sampled_from(["empty", "random", "text", "truncated", "xlsm", "no workbook", "corrupt member", "not zip"])
    )
    if kind == "empty":
        raw = b""
    elif kind == "random":
        raw = draw(st.binary(min_size=1, max_size=2000))
    elif kind == "text":
        raw = draw(st.text(min_size=1, max_size=200)).encode() or b"x"
    elif kind == "truncated":
        raw = BASE_BYTES[: draw(st.integers(1, len(BASE_BYTES) - 1))]
    elif kind == "xlsm":
        raw = _rezip(BASE_BYTES, add={"xl/vbaProject.bin": draw(st.binary(min_size=1, max_size=64))})
    elif kind == "no workbook":
        raw = _rezip(BASE_BYTES, drop=("xl/workbook.xml",))
    elif kind == "corrupt member":
        # flip bytes inside the compressed data of one sheet so that it no longer inflates to the same
        # sheet (its CRC no longer matches, or the deflate stream breaks). Flipping only the bits after the
        # last output byte (the end-of-block code) leaves the sheet intact: not a corrupt workbook, skipped.
        data = bytearray(BASE_BYTES)
        info = zipfile.ZipFile(io.BytesIO(BASE_BYTES)).getinfo(draw(st.sampled_from(SHEET_MEMBERS)))
        name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
        extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
        begin = info.header_offset + 30 + name_len + extra_len
        end = begin + info.compress_size
        start = draw(st.integers(begin, end - 1))
        for i in range(start, min(start + draw(st.integers(1, 16)), end)):
            data[i] ^= 0xFF
        assume(_inflate(data[begin:end]) != _inflate(BASE_BYTES[begin:end]))
        raw = bytes(data)
    else:
        raw = b"PK\x03\x04" + draw(st.binary(min_size=0, max_size=500))
    return Case(None, {"Workbook"}, kind, raw=raw)
