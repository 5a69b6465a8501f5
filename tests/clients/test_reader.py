"""The streaming reader (``clients.importer.reader.XlsxBook``) gives the cell values python-calamine gives.

Every sheet of each workbook is read both ways; rows are compared by their Excel row number with
trailing empty cells dropped and empty rows left out (calamine yields a dense rectangle, the
stream yields the rows the file holds). One deliberate difference: a formula saved without its result
reads as empty in calamine and as its text (``FormulaText``) in the stream, so the import can refuse it.
"""

import datetime
import io

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from python_calamine import CalamineWorkbook

from clients.demo import make_demo_workbook
from clients.importer.reader import FormulaText, XlsxBook, read_workbook
from tests.clients.workbooks import base_sheets, workbook_bytes


def _trim(cells):
    cells = list(cells)
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def calamine_rows(data: bytes) -> dict[str, dict[int, list]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    for title in wb.sheet_names:
        sheet = wb.get_sheet_by_name(title)
        first_col = sheet.start[1] if sheet.start else 0
        rows = {}
        for offset, cells in enumerate(sheet.iter_rows()):  # from row 1, from the first used column
            cells = _trim([""] * first_col + list(cells))
            if cells:
                rows[offset + 1] = cells
        out[title] = rows
    return out


def stream_rows(data: bytes, formulas: list | None = None) -> dict[str, dict[int, list]]:
    """The stream's rows, formula texts read as calamine reads them (empty) and collected in ``formulas``."""
    book = XlsxBook(data)
    out = {}
    for title in book.titles:
        rows = {}
        for number, cells in book.rows(title):
            for i, v in enumerate(cells):
                if isinstance(v, FormulaText):
                    if formulas is not None:
                        formulas.append((title, number, i, str(v)))
                    cells[i] = ""
            cells = _trim(cells)
            if cells:
                rows[number] = cells
        out[title] = rows
    return out


def assert_same(data: bytes):
    expected, got = calamine_rows(data), stream_rows(data)
    assert list(got) == list(expected)
    for title in expected:
        assert got[title] == expected[title], title
        for number, cells in expected[title].items():  # same types too (1.0 == 1 == True in Python)
            assert [type(v) for v in got[title][number]] == [type(v) for v in cells], (title, number)


def tricky_workbook(*, epoch_1904: bool = False) -> bytes:
    wb = Workbook()
    if epoch_1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Tricky"
    ws.append(["text", "float", "int", "numeric text", "bool", "date", "datetime", "time", "formula", "error"])
    ws.append(["a", 1.5, 3, "0012.50", True, datetime.date(2026, 1, 2), datetime.datetime(2026, 1, 2, 13, 45)])
    ws.append([" spaced ", 0.1 + 0.2, -7, "1e5", False, datetime.date(1900, 1, 1), datetime.datetime(2030, 12, 31)])
    ws.append(["x", 1e16, 0, "", None, datetime.date(1900, 3, 1), None, datetime.time(8, 30), "=SUM(1,2)", "#N/A"])
    ws["J2"] = "#DIV/0!"
    ws.cell(row=6, column=3, value=12.0)  # a gap row and a cell far from column A
    ws.cell(row=8, column=12, value="far")
    formats = (("dd/mm/yyyy", 46000), ('"Day" 0', 5), ("[Red]0.00", 2.5), ("0.00;[Red]-0.00", 4), ("[h]:mm", 1.25))
    for fmt, value in formats:
        cell = ws.cell(row=ws.max_row + 1, column=2, value=value)
        cell.number_format = fmt
    other = wb.create_sheet("Starts at C3")
    other["C3"] = "header"
    other["D4"] = 42
    wb.create_sheet("Empty")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_base_workbook_reads_as_calamine():
    assert_same(workbook_bytes(base_sheets()))


@pytest.mark.parametrize("epoch_1904", [False, True])
def test_tricky_cells_read_as_calamine(epoch_1904):
    assert_same(tricky_workbook(epoch_1904=epoch_1904))


def test_demo_workbook_reads_as_calamine(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=3, seed=11)
    assert_same(path.read_bytes())


def test_a_formula_without_its_saved_value_is_its_text_not_an_empty_cell():
    formulas = []
    stream_rows(tricky_workbook(), formulas)
    assert formulas == [("Tricky", 4, 8, "=SUM(1,2)")]  # the fourth row appended, column "formula"


def test_a_formula_without_a_saved_value_is_refused_with_its_cell():
    sheets = base_sheets()
    header = sheets["Receivables"][0]
    column = header.index("face_value")
    sheets["Receivables"][1][column] = "=100+1"
    read = read_workbook(workbook_bytes(sheets))
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[column]
    assert [e for e in read.errors if "formula" in e] == [
        f"Receivables!{letter}2: face_value is a formula without a saved value (=100+1): "
        "save the workbook in Excel or paste the values"
    ]


def test_read_workbook_keeps_excel_row_numbers():
    sheets = base_sheets()
    sheets["Transactions"].insert(2, [None] * 8)
    read = read_workbook(workbook_bytes(sheets))
    assert not read.errors
    assert [r.number for r in read.sheets["Transactions"].rows] == [2, 4, 5, 6, 7, 8, 9]
    assert read.sheets["Transactions"].rows[0].values["date"] == datetime.date(2026, 1, 2)


def test_a_damaged_compressed_sheet_is_named_as_such():
    """Flipped bytes inside a sheet's deflate stream: refused with a reason a user can act on (zlib names its
    error just ``error``)."""
    import io
    import zipfile

    from clients.importer.reader import WorkbookError, check_xlsx
    from tests.clients.workbooks import base_sheets, workbook_bytes

    data = bytearray(workbook_bytes(base_sheets()))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet2.xml")
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    for i in range(start, start + 8):
        data[i] ^= 0xFF
    with pytest.raises(WorkbookError, match="not a readable .xlsx workbook") as refused:
        check_xlsx(bytes(data))
    assert "a compressed part of the file is damaged" in str(refused.value)
