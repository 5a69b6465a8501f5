"""The streaming reader (``clients.importer.reader.XlsxBook``) gives the cell values python-calamine gives.

Every sheet of each workbook is read both ways; rows are compared by their Excel row number with
trailing empty cells dropped and empty rows left out (calamine yields a dense rectangle, the
stream yields the rows the file holds).
"""

import datetime
import io

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from python_calamine import CalamineWorkbook

from clients.demo import make_demo_workbook
from clients.importer.reader import XlsxBook, read_workbook
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


def stream_rows(data: bytes) -> dict[str, dict[int, list]]:
    book = XlsxBook(data)
    out = {}
    for title in book.titles:
        out[title] = {number: cells for number, cells in ((n, _trim(c)) for n, c in book.rows(title)) if cells}
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


def test_read_workbook_keeps_excel_row_numbers():
    sheets = base_sheets()
    sheets["Transactions"].insert(2, [None] * 8)
    read = read_workbook(workbook_bytes(sheets))
    assert not read.errors
    assert [r.number for r in read.sheets["Transactions"].rows] == [2, 4, 5, 6, 7, 8, 9]
    assert read.sheets["Transactions"].rows[0].values["date"] == datetime.date(2026, 1, 2)
