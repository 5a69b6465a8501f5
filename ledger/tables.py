"""Tables of the ledger pages (django-tables2).

:class:`AccountTable` lists accounts with their maintained balance and posting count; the
account code links to its statement, the client id to the client's page. Amounts are shown
with their two decimals (``atlas.money.fmt``), right-aligned.
"""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from atlas.money import fmt
from ledger.models import Account

try:  # the shared base table (atlas/tables.py) is written in parallel; fall back to a plain one.
    from atlas.tables import AtlasTable as BaseTable
except ImportError:  # pragma: no cover - only while atlas/tables.py does not exist yet

    class BaseTable(tables.Table):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("template_name", "django_tables2/bootstrap5.html")
            super().__init__(*args, **kwargs)


def client_url(client_id: str) -> str:
    try:
        return reverse("clients:detail", args=[client_id])
    except NoReverseMatch:
        return f"/clients/{client_id}/"


class AmountColumn(tables.Column):
    """An amount with its two decimals, right-aligned."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-end font-monospace"}, "th": {"class": "text-end"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return fmt(value)

    def value(self, value):
        return fmt(value)


class AccountTable(BaseTable):
    code = tables.Column(
        verbose_name="Account",
        accessor="code",
        order_by=("client__client_id", "kind", "currency"),
        linkify=("ledger:statement", {"pk": tables.A("pk")}),
    )
    client = tables.Column(verbose_name="Client", accessor="client__client_id", order_by=("client__client_id",))
    client_name = tables.Column(verbose_name="Name", accessor="client__name", order_by=("client__name",))
    kind = tables.Column(verbose_name="Kind")
    currency = tables.Column(verbose_name="Currency")
    normal_side = tables.Column(verbose_name="Normal side")
    balance = AmountColumn(verbose_name="Balance")
    posting_count = tables.Column(
        verbose_name="Postings", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )

    class Meta:
        model = Account
        fields = ("code", "client", "client_name", "kind", "currency", "normal_side", "balance", "posting_count")
        sequence = fields
        order_by = ("code",)
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "No accounts match."

    def render_client(self, value):
        return format_html('<a href="{}">{}</a>', client_url(value), value)

    def render_normal_side(self, record):
        return record.get_normal_side_display()


EXPORT_HEADERS = ["account", "client_id", "client_name", "kind", "currency", "normal_side", "balance", "postings"]


def export_rows(queryset):
    """Rows for the CSV/XLSX export of the (filtered, sorted) accounts."""
    for account in queryset:
        client = account.client
        yield [
            account.code,
            client.client_id if client else "",
            client.name if client else "",
            account.kind,
            account.currency,
            account.get_normal_side_display(),
            account.balance,
            account.posting_count,
        ]
