"""CSV and XLSX downloads of any table: one helper for every export in the product.

Amounts are written as their exact decimal text (``1234.50``) in CSV and as numbers with a
two-decimal format in XLSX.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse

from atlas.money import fmt

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return fmt(value) if value.as_tuple().exponent >= -2 else f"{value:f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def write_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue()


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Export") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(list(headers))
    for row in rows:
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_response(fmt_name: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """``fmt_name`` is ``csv`` or ``xlsx``; ``filename`` without extension."""
    if fmt_name == "xlsx":
        response = HttpResponse(write_xlsx(headers, rows), content_type=XLSX_TYPE)
    else:
        fmt_name = "csv"
        response = HttpResponse(write_csv(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt_name}"'
    return response
