"""Reading the workbook: content checks, sheets, headers and typed rows (phase 1, part 1).

The file must be an ``.xlsx`` by content (a zip holding ``xl/workbook.xml``), not only by
name; macro-enabled workbooks (``.xlsm``: a VBA project or a macro-enabled content type) are
refused. Cells are read with python-calamine. Every problem is collected as
``Sheet!Cell: message`` with the column letter of that column in that sheet.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from atlas.money import CURRENCIES
from clients.importer.schema import SHEETS, CellError, SheetSpec, is_blank

XLSX_MAIN_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


class WorkbookError(Exception):
    """A file that cannot be read as a workbook at all."""


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def check_xlsx(data: bytes) -> None:
    """Raise :class:`WorkbookError` unless ``data`` is an .xlsx workbook without macros."""
    if not data:
        raise WorkbookError("the file is empty")
    if not data.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookError("the file is not an .xlsx workbook (it is not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
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


def _check_unpacked_size(data: bytes) -> None:
    """Refuse zip bombs: unpack every member in a stream (memory stays flat) and stop once the
    total passes ``ATLAS_MAX_UNPACKED_BYTES``; the sizes the archive declares are not trusted."""
    from django.conf import settings

    limit = getattr(settings, "ATLAS_MAX_UNPACKED_BYTES", 256 * 1024 * 1024)
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
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
        raise WorkbookError(f"the file is not a readable .xlsx workbook ({type(exc).__name__})") from None


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


def read_workbook(data: bytes, progress: Callable[[str, int, int], None] | None = None) -> ReadResult:
    """Parse every sheet we know; collect every cell error. Raises :class:`WorkbookError`."""
    from python_calamine import CalamineWorkbook

    check_xlsx(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        titles = list(workbook.sheet_names)
    except Exception as exc:  # calamine raises several exception types for corrupt files
        raise WorkbookError(f"the workbook cannot be read ({type(exc).__name__}: {exc})") from None

    errors: list[str] = []
    warnings: list[str] = []
    by_key = {}
    for title in titles:
        key = title.strip().lower()
        spec = next((s for s in SHEETS if s.name.lower() == key), None)
        if spec is None:
            warnings.append(f"{title}: unknown sheet ignored")
        elif spec.name in by_key:
            errors.append(f"{spec.name}!A1: sheet '{title}' appears twice")
        else:
            by_key[spec.name] = title

    sheets: dict[str, SheetData] = {}
    structural = bool(errors)
    done = 0
    for spec in SHEETS:
        if spec.name not in by_key:
            sheets[spec.name] = SheetData(spec, spec.name, present=False)
            if spec.required:
                errors.append(f"{spec.name}!A1: required sheet '{spec.name}' is missing")
                structural = True
            continue
        # Rows one at a time (no list of every cell of the sheet as Python objects).
        data_rows = _iter_sheet(workbook, by_key[spec.name])
        sheet = SheetData(spec, by_key[spec.name], present=True)
        sheets[spec.name] = sheet
        header = next(data_rows, [])
        positions: dict[str, int] = {}
        for index, value in enumerate(header):
            if is_blank(value):
                continue
            name = str(value).strip().lower()
            if name in spec.by_name:
                if name in positions:
                    errors.append(f"{spec.name}!{column_letter(index)}1: column '{name}' appears twice")
                    continue
                positions[name] = index
                sheet.letters[name] = column_letter(index)
            else:
                warnings.append(f"{spec.name}!{column_letter(index)}1: unknown column '{str(value).strip()}' ignored")
        missing = [c.name for c in spec.columns if c.required and c.name not in positions]
        for name in missing:
            errors.append(f"{spec.name}!A1: required column '{name}' is missing")
        if missing:
            structural = True
            done += sum(1 for _ in data_rows)
            continue
        done += _parse_rows(spec, sheet, data_rows, positions, errors)
        if progress:
            progress("reading", done, done)
    return ReadResult(sheets, errors, warnings, done, structural)


def _iter_sheet(workbook, title: str):
    """The sheet's rows from row 1 and column A (calamine starts each row at the first used
    column); a sheet that fails to load raises :class:`WorkbookError`."""
    try:
        sheet = workbook.get_sheet_by_name(title)
        pad = [""] * (sheet.start[1] if sheet.start else 0)
        rows = sheet.iter_rows()
    except Exception as exc:
        raise WorkbookError(f"sheet '{title}' cannot be read ({type(exc).__name__}: {exc})") from None
    if pad:
        return (pad + row for row in rows)
    return rows


def _parse_rows(spec: SheetSpec, sheet: SheetData, data_rows, positions: dict[str, int], errors: list[str]) -> int:
    """Parse the data rows (after the header); return how many rows there were."""
    columns = [(c, positions[c.name]) for c in spec.columns if c.name in positions]
    absent = [c for c in spec.columns if c.name not in positions]
    currency_pos = positions.get(spec.currency_column) if spec.currency_column else None
    letters = sheet.letters
    sheet_name = spec.name
    width_needed = max(positions.values()) + 1
    offset = -1
    for offset, cells in enumerate(data_rows):  # noqa: B007
        for v in cells:  # skip blank rows (inlined is_blank: this runs for every row)
            if v == "" or v is None or (v.__class__ is str and not v.strip()):
                continue
            break
        else:
            continue
        number = offset + 2
        if len(cells) < width_needed:
            cells = list(cells) + [""] * (width_needed - len(cells))
        ctx = None
        if currency_pos is not None:
            cur = cells[currency_pos]
            if isinstance(cur, str) and cur.strip().upper() in CURRENCIES:
                ctx = {"currency": cur.strip().upper()}
        values = {}
        bad = NO_BAD
        for column, pos in columns:
            value = cells[pos]
            if value == "" or value is None or (value.__class__ is str and not value.strip()):
                if column.required:
                    errors.append(f"{sheet_name}!{letters[column.name]}{number}: {column.name} is required")
                    bad = bad | {column.name}
                values[column.name] = column.default
                continue
            try:
                values[column.name] = column.parse(value, column.name, ctx)
            except CellError as exc:
                errors.append(f"{sheet_name}!{letters[column.name]}{number}: {exc}")
                values[column.name] = None
                bad = bad | {column.name}
        for column in absent:
            values[column.name] = column.default
        sheet.rows.append(Row(number, values, bad))
    return offset + 1
