"""The shared table body (``AtlasTable.body_html``) and the filter ``Select`` widget render exactly what
django-tables2's ``tbody`` block and Django's select template render, on a demo-generated book and on
hand-built tables that use every per-cell feature (callable attributes, choices, links, localize)."""

import re

import django_tables2 as tables
import pytest
from django import forms
from django.db.models import Count
from django.template import Context, Template
from django.test import RequestFactory
from django_tables2 import RequestConfig

from atlas.tables import AtlasTable, CheckBoxColumn, DateColumn, DateTimeColumn, MoneyColumn, StatusColumn
from clients.demo import make_demo_workbook
from clients.filters import ClientFilter
from clients.importer import import_workbook
from clients.models import Client
from clients.selectors import ClientPageData, client_list_rows
from clients.tables import ClientTable
from ledger.filters import AccountFilter
from ledger.models import Account
from ledger.tables import AccountTable
from payouts.filters import PayoutFilter
from payouts.models import Payout, PayoutBatch
from payouts.selectors import queue_payouts
from payouts.tables import BatchTable, PayoutTable
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db

# The tbody block of django_tables2/bootstrap5.html (django-tables2 3.0), the reference.
REFERENCE = Template(
    "{% load django_tables2 l10n %}{% for row in table.paginated_rows %}<tr {{ row.attrs.as_html }}>"
    "{% for column, cell in row.items %}<td {{ column.attrs.td.as_html }}>{% if column.localize == None %}"
    "{{ cell }}{% else %}{% if column.localize %}{{ cell|localize }}{% else %}{{ cell|unlocalize }}{% endif %}"
    "{% endif %}</td>{% endfor %}</tr>{% empty %}{% if table.empty_text %}<tr><td colspan="
    '"{{ table.columns|length }}">{{ table.empty_text }}</td></tr>{% endif %}{% endfor %}'
)


def squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html).strip())


def assert_same_body(build, query=None):
    """Two fresh tables (rows count even/odd from the table's creation) from ``build(request)``."""
    request = RequestFactory().get("/", query or {})
    reference, fast = build(request), build(request)
    expected = squeeze(REFERENCE.render(Context({"table": reference})))
    assert squeeze(fast.body_html()) == expected
    return expected


@pytest.fixture
def demo_book(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=12, seed=7)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]


def configured(table, request, per_page):
    RequestConfig(request, paginate={"per_page": per_page}).configure(table)
    return table


def test_page_tables_render_as_tables2_on_a_demo_book(demo_book):
    statuses = set(Payout.objects.values_list("status", flat=True))
    assert len(statuses) >= 2
    payouts = queue_payouts()
    for status in statuses:
        for query in ({}, {"sort": "amount"}, {"sort": "-client", "page": "2"}):
            html = assert_same_body(lambda r, s=status: configured(PayoutTable(payouts.filter(status=s)), r, 5), query)
            assert "<td" in html
    accounts = Account.objects.select_related("client")
    for query in ({}, {"sort": "-balance"}, {"page": "3", "sort": "client_name"}):
        assert "<td" in assert_same_body(lambda r: configured(AccountTable(accounts), r, 10), query)
    for query in ({}, {"sort": "-name"}, {"page": "2"}):
        assert "<td" in assert_same_body(
            lambda r: configured(ClientTable(ClientPageData(Client.objects.all()), request=r), r, 5), query
        )
    for query in ({"sort": "-exposure"}, {"sort": "available", "page": "2"}):
        assert "<td" in assert_same_body(
            lambda r: configured(ClientTable(client_list_rows(Client.objects.all()), request=r), r, 5), query
        )
    batches = PayoutBatch.objects.annotate(n=Count("payouts"))
    assert_same_body(lambda r: configured(BatchTable(batches), r, 5))


def test_empty_table_shows_the_escaped_empty_text():
    class Empty(AtlasTable):
        name = tables.Column()

        class Meta(AtlasTable.Meta):
            empty_text = "Nothing <here> & there"

    html = assert_same_body(lambda r: configured(Empty([]), r, 5))
    assert "Nothing &lt;here&gt; &amp; there" in html


def test_every_per_cell_feature_renders_as_tables2():
    """Callable td and row attributes, choices shown through get_FOO_display, linkify, a render method
    asking for an argument tables2 does not give, localize on and off, defaults for empty values,
    values needing escaping."""
    partner = PartnerFactory()
    ClientFactory(client_id="CL<1>", name="A & B", status="on_hold", partner=partner)
    ClientFactory(client_id="CL2", name="Plain", partner=None)
    ClientFactory(client_id="CL3", name="", status="suspended", partner=partner)

    class Features(AtlasTable):
        client_id = tables.Column(linkify=("clients:detail", {"client_id": tables.A("client_id")}))
        name = tables.Column(attrs={"td": {"data-value": lambda value: value, "class": "x"}})
        status = tables.Column()  # a field with choices: get_status_display
        badge = StatusColumn(accessor="status")
        partner = tables.Column(accessor="partner__partner_id", default="none")
        limit = MoneyColumn(accessor="credit_limit", localize=True)
        raw_limit = tables.Column(accessor="credit_limit", localize=False)
        odd = tables.Column(accessor="pk", empty_values=())
        missing = tables.Column(accessor="no_such_field")

        class Meta(AtlasTable.Meta):
            row_attrs = {"data-id": lambda record: record.pk}

        def render_odd(self, value, unknown_argument):
            return "never"

    rows = Client.objects.select_related("partner").order_by("client_id")
    html = assert_same_body(lambda r: configured(Features(rows), r, 10))
    assert "On Hold" in html and "A &amp; B" in html and "CL&lt;1&gt;" in html and "none" in html


def test_atlas_columns_render_as_tables2s(settings):
    """DateTimeColumn/DateColumn (tables2 renders a ``{{ value|date }}`` template per cell) and
    CheckBoxColumn give the cells and export values of tables2's own columns: current time zone,
    explicit and default formats, the default for a missing value, checked boxes, callable attributes."""
    import datetime as dt

    settings.TIME_ZONE = "Europe/Berlin"
    rows = [
        {"id": 1, "at": dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2)},
        {"id": "<2>", "at": dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC), "day": None},
        {"id": 3, "at": None, "day": dt.date(2025, 2, 28)},
    ]

    def table(datetime_column, date_column, checkbox_column):
        class Columns(AtlasTable):
            at = datetime_column(format="Y-m-d H:i")
            at_short = datetime_column(accessor="at")
            at_long = datetime_column(accessor="at", short=False)
            day = date_column(format="Y-m-d", empty_values=())
            day_long = date_column(accessor="day", short=False)
            pick = checkbox_column(
                accessor="id",
                checked=lambda value, record: record["day"] is None,
                attrs={"td__input": {"name": "ids", "form": "f", "data-day": lambda record: record["day"]}},
            )
            plain = checkbox_column(accessor="id", attrs={"input": {"aria-label": "Pick <one>"}})

            def get_bottom_pinned_data(self):
                return [{"id": "total", "at": None, "day": dt.date(2026, 6, 30)}]

        return Columns

    request = RequestFactory().get("/")
    ours = configured(table(DateTimeColumn, DateColumn, CheckBoxColumn)(rows), request, 10)
    theirs = configured(table(tables.DateTimeColumn, tables.DateColumn, tables.CheckBoxColumn)(rows), request, 10)
    html = squeeze(ours.body_html())
    assert html == squeeze(REFERENCE.render(Context({"table": theirs})))
    assert "2026-03-29 01:30" in html  # UTC shown in the current time zone
    assert 'value="&lt;2&gt;" checked="checked"' in html
    assert 'class="odd pinned-row' in html or 'class="even pinned-row' in html
    assert list(ours.as_values()) == list(theirs.as_values())


def test_links_render_as_tables2s():
    """A link to an ``<int:pk>`` URL is built from one reverse per column; other URLs are reversed per cell."""

    class Links(AtlasTable):
        n = tables.Column(linkify=("payouts:detail", {"pk": tables.A("n")}))
        batch = tables.Column(accessor="n", linkify=("payouts:batch_detail", {"pk": tables.A("n")}))
        client = tables.Column(accessor="n", linkify=("clients:detail", {"client_id": tables.A("n")}))
        text = tables.Column(accessor="code", linkify=("clients:detail", {"client_id": tables.A("code")}))

    rows = [{"n": 0, "code": "a b"}, {"n": 12, "code": "ü?x"}, {"n": 123456789, "code": "<&>"}]
    html = assert_same_body(lambda r: configured(Links(rows), r, 10))
    assert 'href="/payouts/123456789/"' in html and 'href="/payouts/batches/0/"' in html


def test_filter_selects_render_as_djangos_template():
    PartnerFactory(partner_id="P<1>", name="Tom & Jerry")
    partner = PartnerFactory(partner_id="P2", name="Second")
    cases = [
        (ClientFilter, Client.objects.all(), None),
        (ClientFilter, Client.objects.all(), {"partner": str(partner.pk), "status": "active", "band": "over"}),
        (ClientFilter, Client.objects.all(), {"partner": "0", "status": "nope"}),
        (AccountFilter, Account.objects.all(), {"kind": "settlement", "owner": "house", "currency": "GBP"}),
        (PayoutFilter, Payout.objects.all(), None),
        (PayoutFilter, Payout.objects.all(), {"check": "nope", "currency": "EUR"}),
    ]
    seen = 0
    for filterset_class, queryset, data in cases:
        for bound_field in filterset_class(data, queryset=queryset).form:
            widget = bound_field.field.widget
            if not isinstance(widget, forms.Select):
                continue
            fast = str(bound_field)
            widget.__class__ = forms.Select  # Django's template rendering, same widget state
            assert fast == str(bound_field), bound_field.name
            seen += 1
    assert seen >= 12
    html = str(ClientFilter(None, queryset=Client.objects.all()).form["partner"])
    assert "Tom &amp; Jerry" in html
