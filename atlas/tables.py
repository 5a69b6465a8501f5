"""The one base table and its columns, and the reusable CSV/XLSX export of a table view.

- :class:`AtlasTable`: every table in the product derives from it (Bootstrap 5 classes, the
  shared template ``includes/_table.html``, 25 rows per page). Its body is rendered by
  :meth:`AtlasTable.body_html` in Python: the same cells tables2's ``tbody`` block renders, with
  the per-column work (the render method's signature, the ``td`` attributes, whether the field
  has choices) done once per column instead of once per cell.
- :class:`MoneyColumn`: right-aligned, always two decimals (``0.00``), exported as the Decimal.
- :class:`DateTimeColumn` / :class:`DateColumn`: tables2's, with the ``date`` filter called directly
  (tables2 compiles a ``{{ value|date }}`` template for every cell).
- :class:`RatioColumn`: 4 decimal places ``ROUND_HALF_UP`` (DOMAIN.md section 2).
- :func:`export_table` / :class:`TableExportMixin`: ``?export=csv|xlsx`` on a table view answers
  the *filtered* rows (all pages, current ordering) through :func:`atlas.exports.export_response`.
  See docs/frontend.md.
"""

from __future__ import annotations

import datetime
import html
import inspect
import os
from decimal import Decimal
from functools import partialmethod

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db import models
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.templatetags.l10n import localize as localize_filter
from django.templatetags.l10n import unlocalize as unlocalize_filter
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse
from django.utils.encoding import force_str
from django.utils.functional import Promise, cached_property
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, strip_tags
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime
from django_tables2.columns.base import LinkTransform
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import AttributeDict, computed_values, signature

from atlas.exports import export_response
from atlas.money import fmt, round_ratio

EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_PARAM = "export"


class LazyRows:
    """Table data whose rows are built only for the slice asked for (a page, or everything for an export),
    each slice built once: django-tables2's paginator and the table ask for the same page more than once.
    Subclasses give ``__len__`` and ``_build(key: slice) -> list``."""

    def __init__(self):
        self._pages: dict = {}

    def __iter__(self):
        return iter(self[0 : len(self)])

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self[key : key + 1][0]
        cache_key = (key.start, key.stop)
        if cache_key not in self._pages:
            self._pages[cache_key] = self._build(key)
        return self._pages[cache_key]

    def _build(self, key: slice) -> list:
        raise NotImplementedError


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
        row_attrs: dict[tuple, str] = {}  # static row attrs differ only by the even/odd class (and pinning)
        parts = []
        for row in self.paginated_rows:
            if static_row_attrs:
                key = (type(row), row.get_even_odd_css_class())  # pinned rows have their own attrs
                if key not in row_attrs:
                    row_attrs[key] = row.attrs.as_html()
                parts.append(f"<tr {row_attrs[key]}>")
            else:
                parts.append(f"<tr {row.attrs.as_html()}>")
            for plan in plans:
                cell = plan.cell(row)
                kind = type(cell)
                if plan.localize is None and kind is SafeString:  # a link or a badge: already escaped
                    text = cell
                elif plan.localize is None and kind is str:  # django.utils.html.escape without its lazy wrapper
                    text = html.escape(cell)
                else:
                    text = plan.output(cell, context)
                if plan.td_open is None:
                    parts.append(f"<td {plan.td_attrs(row, cell)}>{text}</td>")
                else:
                    parts.append(f"{plan.td_open}{text}</td>")
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


def _escape(value) -> str:
    """``conditional_escape(value)`` as plain text (what ``format_html`` puts in its pattern)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _attrs_html(attrs) -> str:
    """``AttributeDict(attrs).as_html()`` of django-tables2: ``key="value"`` pairs, callables
    called, ``None`` values and the th/td/thead/tbody/tfoot/_ordering keys left out."""
    parts = []
    for key, value in attrs.items():
        if callable(value):
            value = value()
        if key not in AttributeDict.blacklist and value is not None:
            parts.append(f'{_escape(key)}="{_escape(value)}"')
    return " ".join(parts)


_CELL_ARGS = frozenset(("value", "record", "column", "bound_column", "bound_row", "table"))


class _CellPlan:
    """One column's cells for :meth:`AtlasTable.body_html`: ``BoundRow.get_cell`` and
    ``BoundColumn.attrs`` of django-tables2 3.0, with what does not change from cell to cell
    (signature of the render method, static ``td`` attributes, default, whether the field has
    choices and their labels) worked out once."""

    def __init__(self, table, bound_column):
        self.table = table
        self.bound_column = bound_column
        self.column = bound_column.column
        self.accessor = tables.A(bound_column.accessor)
        self.bits = tuple(self.accessor.bits)
        self.render = bound_column.render
        args, catch_all = signature(self.render)
        self.render_args = None if catch_all else tuple(args)
        self.render_never = not catch_all and any(a not in _CELL_ARGS for a in args)
        self.link = bound_column.link
        self.link_prefix = self._static_link_prefix(self.link)
        self.int_link = self._int_link(self.link) if self.link_prefix is not None else None
        self.default = bound_column.default
        self.empty_values = self.column.empty_values
        self.link_text = isinstance(self.column, BaseLinkColumn) and self.column.text is not None
        self.many_to_many = isinstance(self.column, ManyToManyColumn)
        self.localize = self.column.localize
        self.choices: dict[type, bool] = {}  # record type -> does the accessed field have choices
        self.displays: dict[type, tuple | None] = {}  # model -> (attname, labels) of a generated get_FOO_display
        attrs = {**table.attrs, **self.column.attrs}
        td = attrs.get("td", attrs.get("cell", {}))
        self.static_td = None if _has_callable(td) else bound_column.attrs["td"].as_html()
        self.td_open = None if self.static_td is None else f"<td {self.static_td}>"

    @staticmethod
    def _int_link(link):
        """For ``linkify=(viewname, {"name": A("…")})`` where the URL takes ``<int:name>``: the URL is
        ``prefix + str(value) + suffix`` for every int ≥ 0 (Django's IntConverter), so ``reverse`` runs
        twice per column instead of once per cell. None when that cannot be established."""
        args = link.reverse_args
        kwargs = args.get("kwargs") or {}
        variable = [name for name, value in kwargs.items() if isinstance(value, tables.A)]
        if set(args) - {"viewname", "kwargs"} or len(variable) != 1:
            return None
        name, fixed = variable[0], {k: v for k, v in kwargs.items() if k != variable[0]}
        try:
            one = reverse(args["viewname"], kwargs={**fixed, name: 7919})
            two = reverse(args["viewname"], kwargs={**fixed, name: 104729})
            route = resolve("/" + one[len(get_script_prefix()) :]).route
        except (NoReverseMatch, Resolver404):
            return None
        start = len(os.path.commonprefix([one, two]))
        prefix, suffix = one[:start], one[start + 4 :]
        if one != f"{prefix}7919{suffix}" or two != f"{prefix}104729{suffix}" or f"<int:{name}>" not in route:
            return None
        return prefix, tables.A(kwargs[name]), suffix

    def _href(self, record):
        if self.int_link is not None:
            prefix, accessor, suffix = self.int_link
            try:
                value = self._resolve(record, tuple(accessor.bits))
            except Exception:  # noqa: BLE001 - let tables2's path raise what it raises
                value = None
            if type(value) is int and value >= 0:
                return f"{prefix}{value}{suffix}"
        return self.link.call_reverse(record=record)

    @staticmethod
    def _static_link_prefix(link) -> str | None:
        """For a ``linkify=(viewname, args)`` link with static ``<a>`` attributes: those attributes as
        HTML (then only ``reverse`` runs per cell); None when tables2's LinkTransform must run."""
        if type(link) is not LinkTransform or link.url is not None:
            return None
        viewname = link.reverse_args.get("viewname")
        attrs = link.attrs or {}
        if viewname is None or isinstance(viewname, tables.A) or _has_callable(attrs) or "href" in attrs:
            return None
        static = _attrs_html(attrs)
        return f"{static} " if static else ""

    def _field_has_choices(self, record) -> bool:
        kind = type(record)
        if kind not in self.choices:
            try:
                field = self.accessor.get_field(record)
            except Exception:  # noqa: BLE001 - tables2 only guards FieldDoesNotExist; be as lenient
                field = None
            self.choices[kind] = bool(getattr(field, "choices", ()))
        return self.choices[kind]

    def _resolve(self, record, bits):
        """``Accessor.resolve`` along ``bits``. On model instances (not subscriptable, so tables2's
        dictionary lookup always fails first) it goes straight to the attribute, with the same rules
        for callables; anything else, or any failure, takes tables2's own path."""
        current = record
        for bit in bits:
            if not isinstance(current, models.Model) or hasattr(current, "__getitem__"):
                return tables.A("__".join(bits)).resolve(record)
            try:
                current = getattr(current, bit)
            except (TypeError, AttributeError):
                return tables.A("__".join(bits)).resolve(record)
            if callable(current):
                if getattr(current, "alters_data", False):
                    return tables.A("__".join(bits)).resolve(record)  # raises as tables2 does
                if not getattr(current, "do_not_call_in_templates", False):
                    current = current()
            if current is None:
                break
        return current

    def _display(self, penultimate, name):
        """``penultimate.get_<name>_display()``; Django's generated method rebuilds the choices dict
        on every call, so its lookup is done here with the dict built once per model."""
        kind = type(penultimate)
        if kind not in self.displays:
            method = inspect.getattr_static(kind, f"get_{name}_display", None)
            plan = None
            if isinstance(method, partialmethod) and method.func is models.Model._get_FIELD_display:
                field = method.keywords["field"]
                plan = (field.attname, dict(make_hashable(field.flatchoices)))
            self.displays[kind] = plan
        plan = self.displays[kind]
        if plan is None:
            display_fn = getattr(penultimate, f"get_{name}_display", None)
            return (True, display_fn()) if display_fn else (False, None)
        attname, labels = plan
        value = getattr(penultimate, attname)
        return True, force_str(labels.get(make_hashable(value), value), strings_only=True)

    def cell(self, row):
        """``BoundRow._get_and_render_with(bound_column, _call_render, default)``."""
        record = row.record
        value = None
        remainder = True
        if isinstance(record, models.Model) and self._field_has_choices(record):
            try:
                penultimate = self._resolve(record, self.bits[:-1])
            except Exception:  # noqa: BLE001 - tables2 resolves the penultimate quietly
                penultimate = None
            if isinstance(penultimate, models.Model):
                shown, display = self._display(penultimate, self.bits[-1])
                if shown:
                    value, remainder = display, False
        if remainder:
            try:
                value = self._resolve(record, self.bits)
            except Exception:  # noqa: BLE001 - as tables2: non-field columns
                if self.link_text:
                    return self._render(row, None)
        if value in self.empty_values or (self.many_to_many and not value.exists()):
            return self.default
        return self._render(row, value)

    def _render(self, row, value):
        if self.render_args == ("value",) and not self.link:  # Column.render and most render_<column>
            return self.render(value=value)
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
        if not self.link:
            return content
        if self.link_prefix is None:
            return self.link(content, **kwargs)
        href = self._href(row.record)  # LinkTransform.__call__ with static attrs
        if href is None:
            return content
        return SafeString(f'<a {self.link_prefix}href="{_escape(href)}">{_escape(content)}</a>')

    def td_attrs(self, row, cell) -> str:
        if self.static_td is not None:
            return self.static_td
        self.bound_column.current_value = cell
        self.bound_column.current_record = row.record
        return self.bound_column.attrs["td"].as_html()

    def output(self, cell, context) -> str:
        """``{{ cell }}``, ``{{ cell|localize }}`` or ``{{ cell|unlocalize }}`` as the template has it."""
        if self.localize is None:
            kind = type(cell)
            if kind is SafeString:  # already escaped (a link, a badge)
                return cell
            if kind is str:  # what django.utils.html.escape does, without its lazy-argument wrapper
                return SafeString(html.escape(cell))
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


# Format characters of Django's ``date`` filter that are plain zero-padded numbers, and separators.
_NUMERIC_DATE_PARTS = {
    "Y": lambda v: "%04d" % v.year,  # noqa: UP031 - the date filter's own formatting
    "m": lambda v: "%02d" % v.month,  # noqa: UP031
    "d": lambda v: "%02d" % v.day,  # noqa: UP031
    "H": lambda v: "%02d" % v.hour,  # noqa: UP031
    "i": lambda v: "%02d" % v.minute,  # noqa: UP031
    "s": lambda v: "%02d" % v.second,  # noqa: UP031
}
_DATE_SEPARATORS = " -:/.,"


class _DateFilterMixin:
    """``{{ value|date:"<format>"|default:default }}`` (the template of tables2's date columns),
    without compiling that template for every cell. A format made only of ``Y m d H i s`` and
    separators (``Y-m-d H:i``) is formatted directly, as ``django.utils.dateformat`` does."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format, short, *args, **kwargs)
        self.date_format = format or self.DEFAULT_FORMATS[0 if short else 1]
        fmt = self.date_format
        numeric = bool(fmt) and all(c in _NUMERIC_DATE_PARTS or c in _DATE_SEPARATORS for c in fmt)
        self.numeric_parts = [_NUMERIC_DATE_PARTS.get(c, c) for c in fmt] if numeric else None
        self.numeric_date_only = numeric and not any(c in "His" for c in fmt)

    def render(self, value, bound_column):
        value = template_localtime(value)
        kind = type(value)
        if self.numeric_parts is not None and (
            kind is datetime.datetime or (kind is datetime.date and self.numeric_date_only)
        ):
            text = "".join(part if type(part) is str else part(value) for part in self.numeric_parts)
        else:
            text = date_filter(value, self.date_format)
        return conditional_escape(text or bound_column.default)


class DateTimeColumn(_DateFilterMixin, tables.DateTimeColumn):
    """A datetime in the current time zone with a ``date`` filter format; exported as ISO 8601."""

    DEFAULT_FORMATS = ("SHORT_DATETIME_FORMAT", "DATETIME_FORMAT")


class DateColumn(_DateFilterMixin, tables.DateColumn):
    """A date with a ``date`` filter format; exported as ISO 8601."""

    DEFAULT_FORMATS = ("SHORT_DATE_FORMAT", "DATE_FORMAT")


class CheckBoxColumn(tables.CheckBoxColumn):
    """tables2's CheckBoxColumn; the ``<input>`` attributes are joined without a ``format_html`` per attribute."""

    _VALUE_MARK = "\x00value\x00"  # html.escape leaves it as it is

    def render(self, value, bound_column, record):
        checked = self.is_checked(value, record)
        extra = self.attrs.get("td__input") or self.attrs.get("input") or {}
        if not checked and type(value) in (int, str) and not _has_callable(extra):
            # Only the value differs from row to row: the other attributes are joined once per column.
            key = (bound_column.name, id(extra))
            cached = getattr(self, "_static_input", None)
            if cached is None or cached[0] != key:
                attrs = {"type": "checkbox", "name": bound_column.name, "value": self._VALUE_MARK, **extra}
                html_ = f"<input {_attrs_html(attrs)} />"
                if html_.count(self._VALUE_MARK) == 1:
                    cached = (key, *html_.split(self._VALUE_MARK))
                    self._static_input = cached
                else:  # td__input sets its own value: the general path
                    cached = None
            if cached is not None:
                return SafeString(f"{cached[1]}{_escape(value)}{cached[2]}")
        attrs = {"type": "checkbox", "name": bound_column.name, "value": value}
        if checked:
            attrs["checked"] = "checked"
        attrs.update(extra)
        if _has_callable(attrs):
            attrs = computed_values(attrs, kwargs={"record": record, "value": value})
        return SafeString(f"<input {_attrs_html(attrs)} />")


_MISSING = object()


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
            accessor = bound_column.accessor
            raw = _MISSING
            simple = "__" not in accessor and "." not in accessor
            if simple and isinstance(record, models.Model) and not hasattr(record, "__getitem__"):
                # A model's own field: what Accessor.resolve finds (models are not subscriptable).
                raw = getattr(record, accessor, _MISSING)
                if callable(raw):
                    raw = _MISSING
            if raw is _MISSING:
                try:
                    raw = (accessor if isinstance(accessor, tables.A) else tables.A(accessor)).resolve(record)
                except (AttributeError, KeyError, TypeError, ValueError):
                    raw = value
        label = str(value).replace("_", " ") if value == raw else value
        colour = self.COLOURS.get(str(raw), "secondary")
        text_class = " text-dark" if colour in ("warning", "info") else ""
        return SafeString(f'<span class="badge text-bg-{colour}{text_class}">{_escape(label)}</span>')

    def value(self, value, record=None, bound_column=None):
        if record is not None and bound_column is not None:
            try:
                return tables.A(bound_column.accessor).resolve(record)
            except (AttributeError, KeyError, TypeError, ValueError):
                pass
        return value


class KnownCountPaginator(Paginator):
    """A paginator told how many rows there are (``RequestConfig(request, paginate={"paginator_class":
    KnownCountPaginator, "count": n})``), for a view that has already counted them (e.g. the payout queue's tab
    counts): no ``COUNT(*)`` over the page's query (and its joins). ``count`` must be the number of rows the
    table's data holds."""

    def __init__(self, object_list, per_page, *args, count: int, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.known_count = count

    @cached_property
    def count(self):
        return self.known_count


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
