"""The one base table and its columns, and the reusable CSV/XLSX export of a table view.

- :class:`AtlasTable`: every table in the product derives from it (Bootstrap 5 classes, the
  shared template ``includes/_table.html``, 25 rows per page).
- :class:`MoneyColumn`: right-aligned, always two decimals (``0.00``), exported as the Decimal.
- :class:`RatioColumn`: 4 decimal places ``ROUND_HALF_UP`` (DOMAIN.md section 2).
- :func:`export_table` / :class:`TableExportMixin`: ``?export=csv|xlsx`` on a table view answers
  the *filtered* rows (all pages, current ordering) through :func:`atlas.exports.export_response`.
  See docs/frontend.md.
"""

from __future__ import annotations

from decimal import Decimal

import django_tables2 as tables
from django.utils.html import format_html, strip_tags
from django.utils.safestring import SafeData

from atlas.exports import export_response
from atlas.money import fmt, round_ratio

EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_PARAM = "export"


class AtlasTable(tables.Table):
    """Base table: Bootstrap classes, shared template, sensible pagination."""

    export_filename = "export"

    class Meta:
        template_name = "includes/_table.html"
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "thead": {"class": "table-light"}}
        per_page = 25
        empty_text = "Nothing to show."

    def as_values(self, exclude_columns=None):
        """Rows for exports; HTML produced by a ``render_<column>`` (links, badges) is reduced to
        its text, so a column needs a ``value_<column>`` only when the text is not enough."""
        for row in super().as_values(exclude_columns=exclude_columns):
            yield [strip_tags(v) if isinstance(v, SafeData) else v for v in row]


class NumericColumnMixin:
    def __init__(self, *args, **kwargs):
        attrs = kwargs.pop("attrs", {}) or {}
        for part in ("th", "td", "tf"):
            cell = dict(attrs.get(part, {}))
            cell["class"] = " ".join(c for c in ("num", cell.get("class", "")) if c)
            attrs[part] = cell
        kwargs["attrs"] = attrs
        super().__init__(*args, **kwargs)


class MoneyColumn(NumericColumnMixin, tables.Column):
    """An amount: right-aligned, two decimals; exported as the exact Decimal."""

    def render(self, value):
        return fmt(value)

    def value(self, value):
        return Decimal(value).quantize(Decimal("0.01")) if value is not None else None


class RatioColumn(NumericColumnMixin, tables.Column):
    """A ratio shown and exported with 4 places, half-up (checks compare the unrounded value)."""

    def render(self, value):
        return f"{round_ratio(value):f}"

    def value(self, value):
        return round_ratio(value) if value is not None else None


class StatusColumn(tables.Column):
    """A status as a Bootstrap badge; exported as the plain value."""

    COLOURS = {
        "active": "success",
        "on_hold": "warning",
        "suspended": "danger",
        "ready": "secondary",
        "requested": "info",
        "approved": "primary",
        "executed": "success",
        "blocked": "danger",
        "rejected": "dark",
        "cancelled": "secondary",
        "returned": "warning",
        "open": "warning",
        "resolved": "success",
    }

    def render(self, value, record=None, bound_column=None):
        raw = value
        if record is not None and bound_column is not None:
            try:
                raw = tables.A(bound_column.accessor).resolve(record)
            except (AttributeError, KeyError, TypeError, ValueError):
                raw = value
        label = str(value).replace("_", " ") if value == raw else value
        colour = self.COLOURS.get(str(raw), "secondary")
        text_class = " text-dark" if colour in ("warning", "info") else ""
        return format_html('<span class="badge text-bg-{}{}">{}</span>', colour, text_class, label)

    def value(self, value, record=None, bound_column=None):
        if record is not None and bound_column is not None:
            try:
                return tables.A(bound_column.accessor).resolve(record)
            except (AttributeError, KeyError, TypeError, ValueError):
                pass
        return value


def requested_export(request) -> str | None:
    """The export format asked for by ``?export=``, or None."""
    value = request.GET.get(EXPORT_PARAM, "")
    return value if value in EXPORT_FORMATS else None


def export_table(table: tables.Table, fmt_name: str, filename: str | None = None, exclude_columns=()):
    """Every row of ``table`` (not just one page) as a CSV/XLSX download.

    The table must already be filtered and ordered (e.g. after ``RequestConfig(...).configure``);
    pagination is ignored since ``as_values`` walks ``table.rows``.
    """
    values = table.as_values(exclude_columns=exclude_columns)
    headers = next(values)
    return export_response(fmt_name, filename or getattr(table, "export_filename", "export"), headers, list(values))


class TableExportMixin:
    """For class-based table views (``SingleTableMixin``/``SingleTableView``/``FilterView``).

    ``?export=csv`` or ``?export=xlsx`` returns the filtered rows as a download. Set
    ``export_filename`` and optionally ``export_exclude_columns``.
    """

    export_filename = "export"
    export_exclude_columns: tuple[str, ...] = ()

    def render_to_response(self, context, **response_kwargs):
        fmt_name = requested_export(self.request)
        if fmt_name:
            table = context.get(getattr(self, "context_table_name", None) or "table")
            if table is None:
                table = self.get_table(**self.get_table_kwargs())
            return export_table(table, fmt_name, self.export_filename, self.export_exclude_columns)
        return super().render_to_response(context, **response_kwargs)


def export_links(request) -> dict[str, str]:
    """URLs of the current page with ``export=csv|xlsx`` (filters and ordering kept, page dropped)."""
    links = {}
    for fmt_name in EXPORT_FORMATS:
        params = request.GET.copy()
        params.pop("page", None)
        params[EXPORT_PARAM] = fmt_name
        links[fmt_name] = f"?{params.urlencode()}"
    return links
