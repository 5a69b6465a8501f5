"""Reading the workbook: content checks, sheets, headers and typed rows (phase 1, part 1).

The file must be an ``.xlsx`` by content (a zip holding ``xl/workbook.xml``), not only by
name; macro-enabled workbooks (``.xlsm``: a VBA project or a macro-enabled content type) are
refused. Sheets are streamed row by row from the zip member with ``lxml.etree.iterparse``
(:class:`XlsxBook`), so memory does not grow with a sheet's size; cell values are the ones
python-calamine gives (shared and inline strings, numbers as ``float``, booleans, dates from the
cell's number format and the workbook's 1900/1904 epoch, formula results); a formula saved without
its result is a :class:`FormulaText`, which the row parser refuses.
Every problem is collected as ``Sheet!Cell: message`` with the column letter of that column in
that sheet.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools
import os
import posixpath
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from atlas.money import CURRENCIES
from clients.importer.schema import SHEETS, CellError, SheetSpec, is_blank

XLSX_MAIN_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


class WorkbookError(Exception):
    """A file that cannot be read as a workbook at all."""


class FormulaText(str):
    """A formula cell saved without its result (openpyxl writes ``=…`` text that way): the formula's
    text, which the row parser refuses with the cell's address instead of reading it as empty."""


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _stream(source):
    """A binary file object over ``source``: the file's bytes, or the path of a file on disk (read
    as the zip needs it: a large workbook is not held in memory)."""
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    return open(source, "rb")  # noqa: SIM115 (closed by the caller or the ZipFile that owns it)


def check_xlsx(data) -> None:
    """Raise :class:`WorkbookError` unless ``data`` (bytes, or a path) is an .xlsx workbook without macros."""
    try:
        with _stream(data) as handle:
            head = handle.read(4)
    except OSError as exc:
        raise WorkbookError(f"cannot open {data}: {exc.strerror or exc}") from None
    if not head:
        raise WorkbookError("the file is empty")
    with _stream(data) as handle:
        is_zip = head.startswith(b"PK") and zipfile.is_zipfile(handle)
    if not is_zip:
        raise WorkbookError("the file is not an .xlsx workbook (it is not a zip archive)")
    try:
        with _stream(data) as handle, zipfile.ZipFile(handle) as archive:
            names = set(archive.namelist())
            content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
        raise WorkbookError(f"the file is not a readable .xlsx workbook ({exc})") from None
    if "xl/workbook.xml" not in names:
        raise WorkbookError("the file is not an .xlsx workbook (no xl/workbook.xml inside)")
    _check_unpacked_size(data)
    if any(n.lower().endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
        raise WorkbookError("macro-enabled workbooks (.xlsm) are refused; save it as .xlsx")
    if XLSX_MAIN_TYPE.encode() not in content_types:
        raise WorkbookError("the file is not an .xlsx workbook (unexpected content type)")


def _check_unpacked_size(data) -> None:
    """Refuse zip bombs: unpack every member in a stream (memory stays flat) and stop once the
    total passes ``ATLAS_MAX_UNPACKED_BYTES``; the sizes the archive declares are not trusted."""
    from django.conf import settings

    limit = getattr(settings, "ATLAS_MAX_UNPACKED_BYTES", 256 * 1024 * 1024)
    total = 0
    try:
        with _stream(data) as handle, zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while chunk := member.read(1 << 20):
                        total += len(chunk)
                        if total > limit:
                            raise WorkbookError(
                                f"the workbook unpacks to more than {limit // (1024 * 1024)} MB; it is refused"
                            )
    except WorkbookError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        RuntimeError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        raise WorkbookError(f"the file is not a readable .xlsx workbook ({exc})") from None
    except Exception as exc:  # zlib.error and friends from a corrupt member
        raise WorkbookError(f"the file is not a readable .xlsx workbook ({_damage(exc)})") from None


def _damage(exc: Exception) -> str:
    """A reason a user can act on for an unexpected error while unpacking (zlib's is named ``error``)."""
    if isinstance(exc, zlib.error):
        return "a compressed part of the file is damaged"
    return type(exc).__name__


def read_bytes(path_or_file) -> tuple[bytes, str]:
    """The file's bytes and its name."""
    if isinstance(path_or_file, bytes | bytearray):
        return bytes(path_or_file), "upload.xlsx"
    if hasattr(path_or_file, "read"):
        if hasattr(path_or_file, "seek"):
            path_or_file.seek(0)
        data = path_or_file.read()
        name = getattr(path_or_file, "name", None) or "upload.xlsx"
        return data, str(name).replace("\\", "/").rsplit("/", 1)[-1]
    try:
        with open(path_or_file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise WorkbookError(f"cannot open {path_or_file}: {exc.strerror or exc}") from None
    return data, str(path_or_file).replace("\\", "/").rsplit("/", 1)[-1]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path_or_file) -> tuple[object, str, int, str]:
    """``(source, name, size, sha256)``: a path stays a path (the import streams it from disk);
    bytes and file objects are read into memory (:func:`read_bytes`)."""
    if isinstance(path_or_file, str | os.PathLike):
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path_or_file, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise WorkbookError(f"cannot open {path_or_file}: {exc.strerror or exc}") from None
        name = str(path_or_file).replace("\\", "/").rsplit("/", 1)[-1]
        return os.fspath(path_or_file), name, size, digest.hexdigest()
    data, name = read_bytes(path_or_file)
    return data, name, len(data), sha256_hex(data)


NO_BAD: frozenset = frozenset()


@dataclass(slots=True)
class Row:
    number: int  # the Excel row number (1-based)
    values: dict  # column name → parsed value (None for empty / failed cells)
    bad: set | frozenset = NO_BAD  # columns whose cell failed to parse (shared empty set: rows are many)


@dataclass
class SheetData:
    spec: SheetSpec
    title: str  # the sheet's name as written in the file
    present: bool
    letters: dict[str, str] = field(default_factory=dict)  # column name → letter
    rows: list[Row] = field(default_factory=list)

    def cell(self, column: str, row: int | None) -> str:
        letter = self.letters.get(column, "A")
        return f"{self.spec.name}!{letter}{row if row is not None else 1}"


@dataclass
class ReadResult:
    sheets: dict[str, SheetData]
    errors: list[str]
    warnings: list[str]
    row_count: int
    structural: bool = False  # a required sheet or column is missing: cross-sheet checks are skipped


# --------------------------------------------------------------------------- the xlsx stream

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_N = "{" + MAIN_NS + "}"
_ROW, _C, _V, _IS, _T, _R, _F = (_N + x for x in ("row", "c", "v", "is", "t", "r", "f"))
# Built-in number formats that are dates or times (ECMA-376 18.8.30), as calamine reads them; 46 is [h]:mm:ss.
DATE_FORMAT_IDS = frozenset((*range(14, 23), 45, 47))
DURATION_FORMAT_IDS = frozenset((46,))
_DIGITS = "0123456789"
_EPOCH_1900 = datetime.datetime(1899, 12, 30)
_EPOCH_1904 = datetime.datetime(1904, 1, 1)


def _format_kind(code: str) -> str:
    """``date``, ``duration`` or ``number`` for a custom number format code (calamine's rule: a
    date/time letter outside quotes, escapes and ``[...]``; ``[h]``, ``[m]``, ``[s]`` make a duration)."""
    escaped = quoted = False
    bracket = ""
    in_bracket = False
    for ch in code:
        if escaped:
            escaped = False
        elif quoted:
            quoted = ch != '"'
        elif in_bracket:
            if ch == "]":
                in_bracket = False
                if bracket.lower() in ("h", "hh", "m", "mm", "s", "ss"):
                    return "duration"
            else:
                bracket += ch
        elif ch in "\\_":
            escaped = True
        elif ch == '"':
            quoted = True
        elif ch == "[":
            in_bracket, bracket = True, ""
        elif ch == ";":
            break
        elif ch in "dmyhsDMYHS":
            return "date"
    return "number"


def _excel_datetime(serial: float, is_1904: bool):
    """An Excel serial as python-calamine gives it: ``time`` below 1, ``date`` when whole, else ``datetime``."""
    if is_1904:
        base = _EPOCH_1904
    elif serial >= 60:
        base = _EPOCH_1900
    else:  # Excel's 1900-02-29 does not exist: days before it count from 1899-12-31
        base = _EPOCH_1900 + datetime.timedelta(days=1)
    if serial < 1:  # a time of day (below 0: calamine gives midnight)
        ms = round(serial * 86_400_000) if serial > 0 else 0
        return (datetime.datetime(2000, 1, 1) + datetime.timedelta(milliseconds=ms)).time()
    value = base + datetime.timedelta(milliseconds=round(serial * 86_400_000))
    if value.time() == datetime.time(0):
        return value.date()
    return value


def _text(element) -> str:
    """A string item (``<si>`` or ``<is>``): its ``<t>`` and rich-text runs' ``<t>``, no phonetic runs."""
    if len(element) == 1:
        only = element[0]
        if only.tag == _T:
            return only.text or ""
    parts = []
    for child in element:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            for t in child.iterchildren(_T):
                parts.append(t.text or "")
    return "".join(parts)


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def _iterparse(source, tag):
    from lxml import etree

    return etree.iterparse(source, events=("end",), tag=tag, resolve_entities=False, no_network=True, huge_tree=True)


class XlsxBook:
    """An .xlsx read as a stream: sheet names from ``xl/workbook.xml``, shared strings and date
    styles up front, each sheet's rows on demand (one row in memory at a time)."""

    def __init__(self, data: bytes):
        from lxml import etree

        self._handle = _stream(data)
        self.archive = zipfile.ZipFile(self._handle)
        try:
            names = set(self.archive.namelist())
            workbook = etree.fromstring(self.archive.read("xl/workbook.xml"), parser=_safe_parser())
            rels = self._rels("xl/_rels/workbook.xml.rels", names)
            pr = workbook.find(_N + "workbookPr")
            self.is_1904 = pr is not None and pr.get("date1904", "").lower() in ("1", "true")
            self.members: dict[str, str] = {}
            self.titles: list[str] = []
            for sheet in workbook.iter(_N + "sheet"):
                title = sheet.get("name") or ""
                target = rels.get(sheet.get("{" + REL_NS + "}id") or "")
                self.titles.append(title)
                self.members.setdefault(title, target or "")
            shared = next((t for t, kind in rels.values_kinds if kind.endswith("/sharedStrings")), None)
            styles = next((t for t, kind in rels.values_kinds if kind.endswith("/styles")), None)
            self.shared = self._shared_strings(shared, names)
            self.date_styles, self.duration_styles = self._styles(styles, names)
        except WorkbookError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise WorkbookError(f"the workbook cannot be read ({type(exc).__name__}: {exc})") from None

    def close(self) -> None:
        self.archive.close()
        self.archive.fp = None
        if self._handle is not None:
            self._handle.close()

    def _rels(self, member: str, names: set):
        from lxml import etree

        out = _Rels()
        if member not in names:
            return out
        root = etree.fromstring(self.archive.read(member), parser=_safe_parser())
        for rel in root.iter("{" + PKG_REL_NS + "}Relationship"):
            target = rel.get("Target") or ""
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            out[rel.get("Id") or ""] = target
            out.values_kinds.append((target, rel.get("Type") or ""))
        return out

    def _shared_strings(self, member, names) -> list[str]:
        member = member or "xl/sharedStrings.xml"
        if member not in names:
            return []
        out = []
        with self.archive.open(member) as stream:
            for _, si in _iterparse(stream, _N + "si"):
                out.append(_text(si))
                si.clear()
                while si.getprevious() is not None:
                    del si.getparent()[0]
        return out

    def _styles(self, member, names) -> tuple[frozenset, frozenset]:
        from lxml import etree

        member = member or "xl/styles.xml"
        if member not in names:
            return frozenset(), frozenset()
        root = etree.fromstring(self.archive.read(member), parser=_safe_parser())
        custom = {}
        for fmt in root.iter(_N + "numFmt"):
            try:
                custom[int(fmt.get("numFmtId"))] = _format_kind(fmt.get("formatCode") or "")
            except (TypeError, ValueError):
                continue
        dates, durations = set(), set()
        xfs = root.find(_N + "cellXfs")
        for index, xf in enumerate(xfs.iterchildren(_N + "xf") if xfs is not None else ()):
            try:
                fmt_id = int(xf.get("numFmtId") or 0)
            except ValueError:
                continue
            kind = custom.get(fmt_id)
            if kind is None:
                kind = "date" if fmt_id in DATE_FORMAT_IDS else "duration" if fmt_id in DURATION_FORMAT_IDS else ""
            if kind == "date":
                dates.add(str(index))
            elif kind == "duration":
                durations.add(str(index))
        return frozenset(dates), frozenset(durations)

    def rows(self, title: str):
        """``(row number, cells from column A)`` for every row element of the sheet that has a
        cell; empty cells are ``""``. Raises :class:`WorkbookError` for a sheet that cannot be read."""
        from lxml import etree

        member = self.members.get(title)
        try:
            stream = self.archive.open(member)
        except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError, NotImplementedError) as exc:
            raise WorkbookError(f"sheet '{title}' cannot be read ({type(exc).__name__}: {exc})") from None
        shared, dates, durations, is_1904 = self.shared, self.date_styles, self.duration_styles, self.is_1904
        columns: dict[str, int] = {}
        date_cache: dict[str, object] = {}
        number = 0
        try:
            with stream:
                for _, row in _iterparse(stream, _ROW):
                    r = row.get("r")
                    number = int(r) if r else number + 1
                    cells: list = []
                    col = -1
                    for c in row:
                        if c.tag != _C:
                            continue
                        ref = c.get("r")
                        if ref:
                            letters = ref.rstrip(_DIGITS)
                            col = columns.get(letters)
                            if col is None:
                                col = columns[letters] = _column_index(letters)
                        else:
                            col += 1
                        t = c.get("t")
                        if t == "inlineStr":
                            value = ""
                            if len(c):
                                first = c[0]
                                if first.tag == _IS:
                                    value = _text(first)
                        else:
                            v = None
                            for child in c:
                                if child.tag == _V:
                                    v = child.text
                                    break
                            if v is None:
                                value = ""
                                for child in c:
                                    if child.tag == _F:
                                        value = FormulaText("=" + (child.text or ""))
                                        break
                            elif t is None or t == "n":
                                s = c.get("s")
                                if s is not None and s in dates:
                                    value = date_cache.get(v)
                                    if value is None:
                                        value = date_cache[v] = _excel_datetime(float(v), is_1904)
                                elif s is not None and s in durations:
                                    value = datetime.timedelta(milliseconds=round(float(v) * 86_400_000))
                                else:
                                    value = float(v)
                            elif t == "s":
                                value = shared[int(v)]
                            elif t == "str":
                                value = v
                            elif t == "e":  # an error (#N/A, #DIV/0!): empty, as calamine gives it
                                value = ""
                            elif t == "b":
                                value = v.strip() in ("1", "true")
                            elif t == "d":
                                value = _iso_datetime(v)
                            else:
                                value = v
                        if col >= len(cells):
                            if col > len(cells):
                                cells.extend([""] * (col - len(cells)))
                            cells.append(value)
                        else:
                            cells[col] = value
                    row.clear()
                    while row.getprevious() is not None:
                        del row.getparent()[0]
                    if cells:
                        yield number, cells
        except WorkbookError:
            raise
        except (etree.LxmlError, zipfile.BadZipFile, OSError, EOFError, ValueError, IndexError, TypeError) as exc:
            raise WorkbookError(f"sheet '{title}' cannot be read ({type(exc).__name__}: {exc})") from None
        except Exception as exc:  # zlib.error and friends from a corrupt member
            raise WorkbookError(f"sheet '{title}' cannot be read ({_damage(exc)})") from None


class _Rels(dict):
    def __init__(self):
        super().__init__()
        self.values_kinds: list[tuple[str, str]] = []


def _safe_parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _iso_datetime(text: str):
    """A ``t="d"`` cell (ISO 8601) as a date, datetime or time."""
    text = text.strip()
    for parse in (datetime.date.fromisoformat, datetime.datetime.fromisoformat, datetime.time.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


# --------------------------------------------------------------------------- sheets and rows


def open_book(data) -> XlsxBook:
    """Check the file (:func:`check_xlsx`) and open it for streaming. Raises :class:`WorkbookError`."""
    check_xlsx(data)
    return XlsxBook(data)


@dataclass
class Layout:
    """Which workbook sheet holds which known sheet; errors and warnings about the sheet names."""

    by_key: dict[str, str]
    structural: bool


def sheet_layout(book: XlsxBook, errors: list[str], warnings: list[str]) -> Layout:
    by_key = {}
    for title in book.titles:
        key = title.strip().lower()
        spec = next((s for s in SHEETS if s.name.lower() == key), None)
        if spec is None:
            warnings.append(f"{title}: unknown sheet ignored")
        elif spec.name in by_key:
            errors.append(f"{spec.name}!A1: sheet '{title}' appears twice")
        else:
            by_key[spec.name] = title
    structural = bool(errors)
    for spec in SHEETS:
        if spec.name not in by_key and spec.required:
            structural = True
    return Layout(by_key, structural)


class SheetStream:
    """One known sheet, read lazily: its header on :meth:`open`, then its parsed :class:`Row` s
    from :meth:`rows` (every cell error appended to ``errors`` as the rows go by)."""

    def __init__(self, book: XlsxBook, spec: SheetSpec, title: str | None, errors: list[str], warnings: list[str]):
        self.spec = spec
        self.sheet = SheetData(spec, title or spec.name, present=title is not None)
        self.errors = errors
        self.warnings = warnings
        self.positions: dict[str, int] = {}
        self.structural = False
        self.row_count = 0  # data rows after the header (blank rows inside the sheet count)
        self._rows = book.rows(title) if title is not None else iter(())
        self._header_number = None

    def open(self) -> bool:
        """Read the header; ``False`` (and errors) if the sheet is missing or lacks a required column."""
        spec, sheet, errors = self.spec, self.sheet, self.errors
        if not sheet.present:
            if spec.required:
                errors.append(f"{spec.name}!A1: required sheet '{spec.name}' is missing")
                self.structural = True
            return False
        header = []  # row 1 (as calamine reads it: a sheet whose first row is empty has no header)
        self._header_number = 1
        for number, cells in self._rows:
            if number == 1:
                header = cells
                break
            self._rows = itertools.chain([(number, cells)], self._rows)
            break
        for index, value in enumerate(header):
            if is_blank(value):
                continue
            name = str(value).strip().lower()
            if name in spec.by_name:
                if name in self.positions:
                    errors.append(f"{spec.name}!{column_letter(index)}1: column '{name}' appears twice")
                    continue
                self.positions[name] = index
                sheet.letters[name] = column_letter(index)
            else:
                self.warnings.append(
                    f"{spec.name}!{column_letter(index)}1: unknown column '{str(value).strip()}' ignored"
                )
        missing = [c.name for c in spec.columns if c.required and c.name not in self.positions]
        for name in missing:
            errors.append(f"{spec.name}!A1: required column '{name}' is missing")
        if missing:
            self.structural = True
            for _ in self.rows_raw():
                pass
            return False
        return True

    def rows_raw(self):
        """The raw data rows after the header (counted)."""
        for number, cells in self._rows:
            if cells.count("") != len(cells):  # not blank (count compares in C)
                self.row_count = number - self._header_number
            yield number, cells

    def rows(self):
        """The parsed data rows (blank rows skipped; rows keep their Excel numbers)."""
        return _parse_rows(self.spec, self.sheet, self.rows_raw(), self.positions, self.errors)


def read_workbook(data: bytes, progress: Callable[[str, int, int], None] | None = None) -> ReadResult:
    """Parse every sheet we know into memory; collect every cell error. Raises :class:`WorkbookError`.
    (The import streams instead: :func:`open_book`, :class:`SheetStream`.)"""
    book = open_book(data)
    try:
        return _read_all(book, progress)
    finally:
        book.close()


def _read_all(book: XlsxBook, progress) -> ReadResult:
    errors: list[str] = []
    warnings: list[str] = []
    layout = sheet_layout(book, errors, warnings)
    structural = bool(errors)
    sheets: dict[str, SheetData] = {}
    done = 0
    for spec in SHEETS:
        stream = SheetStream(book, spec, layout.by_key.get(spec.name), errors, warnings)
        sheets[spec.name] = stream.sheet
        if stream.open():
            stream.sheet.rows = list(stream.rows())
        structural = structural or stream.structural
        done += stream.row_count
        if progress and stream.sheet.present:
            progress("reading", done, done)
    return ReadResult(sheets, errors, warnings, done, structural)


# Columns whose few distinct texts repeat on every row and parse without the row's currency: each
# text is parsed once per sheet (and its value shared by the rows).
REPEATING = frozenset(
    ("client_id", "debtor_id", "partner_id", "type", "currency", "status", "country", "method", "day_count")
)


def _parse_rows(spec: SheetSpec, sheet: SheetData, data_rows, positions: dict[str, int], errors: list[str]):
    """Parse the data rows (after the header) into :class:`Row` s, one at a time."""
    columns = [(c, positions[c.name], {} if c.name in REPEATING else None) for c in spec.columns if c.name in positions]
    absent = [c for c in spec.columns if c.name not in positions]
    currency_pos = positions.get(spec.currency_column) if spec.currency_column else None
    letters = sheet.letters
    sheet_name = spec.name
    width_needed = max(positions.values()) + 1
    for number, cells in data_rows:
        for v in cells:  # skip blank rows (inlined is_blank: this runs for every row)
            if v == "" or v is None or (v.__class__ is str and not v.strip()):
                continue
            break
        else:
            continue
        if len(cells) < width_needed:
            cells = cells + [""] * (width_needed - len(cells))
        ctx = None
        if currency_pos is not None:
            cur = cells[currency_pos]
            if isinstance(cur, str) and cur.strip().upper() in CURRENCIES:
                ctx = {"currency": cur.strip().upper()}
        values = {}
        bad = NO_BAD
        for column, pos, cache in columns:
            value = cells[pos]
            if value.__class__ is FormulaText:
                errors.append(
                    f"{sheet_name}!{letters[column.name]}{number}: {column.name} is a formula without a saved "
                    f"value ({value[:40]}): save the workbook in Excel or paste the values"
                )
                values[column.name] = None
                bad = bad | {column.name}
                continue
            if value == "" or value is None or (value.__class__ is str and not value.strip()):
                if column.required:
                    errors.append(f"{sheet_name}!{letters[column.name]}{number}: {column.name} is required")
                    bad = bad | {column.name}
                values[column.name] = column.default
                continue
            if cache is not None and value.__class__ is str:
                parsed = cache.get(value)
                if parsed is not None:
                    values[column.name] = parsed
                    continue
            try:
                values[column.name] = parsed = column.parse(value, column.name, ctx)
                if cache is not None and value.__class__ is str and len(cache) < 100_000:
                    cache[value] = parsed
            except CellError as exc:
                errors.append(f"{sheet_name}!{letters[column.name]}{number}: {exc}")
                values[column.name] = None
                bad = bad | {column.name}
        for column in absent:
            values[column.name] = column.default
        yield Row(number, values, bad)
