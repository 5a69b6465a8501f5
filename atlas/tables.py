"""The one base table and its columns, and the reusable CSV/XLSX export of a table view.

- :class:`AtlasTable`: every table in the product derives from it (Bootstrap 5 classes, the
  shared template ``includes/_table.html``, 25 rows per page). Its body is rendered by
  :meth:`AtlasTable.body_html` in Python: the same cells tables2's ``tbody`` block renders, with
  the per-column work (the render method's signature, the ``td`` attributes, whether the field
  has choices) done once per column instead of once per cell.
- :class:`MoneyColumn`: right-aligned, always two decimals (``0.00``), exported as the Decimal.
- :class:`RatioColumn`: 4 decimal places ``ROUND_HALF_UP`` (DOMAIN.md section 2).
- :func:`export_table` / :class:`TableExportMixin`: ``?export=csv|xlsx`` on a table view answers
  the *filtered* rows (all pages, current ordering) through :func:`atlas.exports.export_response`.
  See docs/frontend.md.
"""

from __future__ import annotations

from decimal import Decimal

import django_tables2 as tables
from django.db import models
from django.template import Context
from django.template.base import render_value_in_context
from django.templatetags.l10n import localize as localize_filter
from django.templatetags.l10n import unlocalize as unlocalize_filter
from django.utils.html import conditional_escape, format_html, strip_tags
from django.utils.safestring import SafeData, mark_safe
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import signature

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

    def body_html(self) -> str:
        """The ``<tr>`` rows of the shown page (or the empty-text row), as tables2's ``tbody`` block
        renders them: ``<tr {{ row.attrs }}>`` and per column ``<td {{ column.attrs.td }}>{{ cell }}</td>``."""
        plans = [_CellPlan(self, bound_column) for bound_column in self.columns]
        context = Context(autoescape=True)
        static_row_attrs = not _has_callable(self.row_attrs)
        row_attrs: dict[str, str] = {}  # static row attrs differ only by the even/odd class
        parts = []
        for row in self.paginated_rows:
            if static_row_attrs:
                parity = row.get_even_odd_css_class()
                if parity not in row_attrs:
                    row_attrs[parity] = row.attrs.as_html()
                parts.append(f"<tr {row_attrs[parity]}>")
            else:
                parts.append(f"<tr {row.attrs.as_html()}>")
            for plan in plans:
                cell = plan.cell(row)
                parts.append(f"<td {plan.td_attrs(row, cell)}>{plan.output(cell, context)}</td>")
            parts.append("</tr>")
        if not parts and self.empty_text:
            parts.append(f'<tr><td colspan="{len(self.columns)}">{conditional_escape(self.empty_text)}</td></tr>')
        # Every part is escaped: attributes by AttributeDict.as_html, cells by render_value_in_context
        # (as ``{{ cell }}``), the empty text by conditional_escape.
        return mark_safe("".join(parts))  # noqa: S308

    def as_values(self, exclude_columns=None):
        """Rows for exports; HTML produced by a ``render_<column>`` (links, badges) is reduced to
        its text, so a column needs a ``value_<column>`` only when the text is not enough."""
        for row in super().as_values(exclude_columns=exclude_columns):
            yield [strip_tags(v) if isinstance(v, SafeData) else v for v in row]


def _has_callable(value) -> bool:
    if callable(value):
        return True
    if isinstance(value, dict):
        return any(_has_callable(v) for v in value.values())
    return False


_CELL_ARGS = frozenset(("value", "record", "column", "bound_column", "bound_row", "table"))


class _CellPlan:
    """One column's cells for :meth:`AtlasTable.body_html`: ``BoundRow.get_cell`` and
    ``BoundColumn.attrs`` of django-tables2 3.0, with what does not change from cell to cell
    (signature of the render method, static ``td`` attributes, default) worked out once."""

    def __init__(self, table, bound_column):
        self.table = table
        self.bound_column = bound_column
        self.column = bound_column.column
        self.accessor = tables.A(bound_column.accessor)
        self.render = bound_column.render
        args, catch_all = signature(self.render)
        self.render_args = None if catch_all else tuple(args)
        self.render_never = not catch_all and any(a not in _CELL_ARGS for a in args)
        self.link = bound_column.link
        self.default = bound_column.default
        self.empty_values = self.column.empty_values
        self.link_text = isinstance(self.column, BaseLinkColumn) and self.column.text is not None
        self.many_to_many = isinstance(self.column, ManyToManyColumn)
        self.localize = self.column.localize
        self.choices: dict[type, bool] = {}  # record type -> does the accessed field have choices
        attrs = {**table.attrs, **self.column.attrs}
        td = attrs.get("td", attrs.get("cell", {}))
        self.static_td = None if _has_callable(td) else bound_column.attrs["td"].as_html()

    def _field_has_choices(self, record) -> bool:
        kind = type(record)
        if kind not in self.choices:
            try:
                field = self.accessor.get_field(record)
            except Exception:  # noqa: BLE001 - tables2 only guards FieldDoesNotExist; be as lenient
                field = None
            self.choices[kind] = bool(getattr(field, "choices", ()))
        return self.choices[kind]

    def cell(self, row):
        """``BoundRow._get_and_render_with(bound_column, _call_render, default)``."""
        record = row.record
        value = None
        remainder = True
        if isinstance(record, models.Model) and self._field_has_choices(record):
            penultimate, name = self.accessor.penultimate(record)
            if isinstance(penultimate, models.Model):
                display_fn = getattr(penultimate, f"get_{name}_display", None)
                if display_fn:
                    value = display_fn()
                    remainder = False
        if remainder:
            try:
                value = self.accessor.resolve(record)
            except Exception:  # noqa: BLE001 - as tables2: non-field columns
                if self.link_text:
                    return self._render(row, None)
        if value in self.empty_values or (self.many_to_many and not value.exists()):
            return self.default
        return self._render(row, value)

    def _render(self, row, value):
        if self.render_never and not self.link:
            return None
        kwargs = {
            "value": value,
            "record": row.record,
            "column": self.column,
            "bound_column": self.bound_column,
            "bound_row": row,
            "table": self.table,
        }
        if self.render_never:
            content = None
        elif self.render_args is None:
            content = self.render(**kwargs)
        else:
            content = self.render(**{name: kwargs[name] for name in self.render_args})
        return self.link(content, **kwargs) if self.link else content

    def td_attrs(self, row, cell) -> str:
        if self.static_td is not None:
            return self.static_td
        self.bound_column.current_value = cell
        self.bound_column.current_record = row.record
        return self.bound_column.attrs["td"].as_html()

    def output(self, cell, context) -> str:
        """``{{ cell }}``, ``{{ cell|localize }}`` or ``{{ cell|unlocalize }}`` as the template has it."""
        if self.localize is None:
            return render_value_in_context(cell, context)
        return render_value_in_context(localize_filter(cell) if self.localize else unlocalize_filter(cell), context)


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
