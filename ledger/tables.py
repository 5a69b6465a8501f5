"""Tables of the ledger pages (django-tables2, on the shared :class:`atlas.tables.AtlasTable`).

:class:`AccountTable` lists accounts with their maintained balance and posting count; the
account code links to its statement, the client id to the client's page.
"""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from atlas.tables import AtlasTable, MoneyColumn
from ledger.models import Account


def client_url(client_id: str) -> str:
    try:
        return reverse("clients:detail", args=[client_id])
    except NoReverseMatch:  # the clients page is routed by another app; its documented path
        return f"/clients/{client_id}/"


class AccountTable(AtlasTable):
    export_filename = "ledger-accounts"

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
    balance = MoneyColumn(verbose_name="Balance")
    posting_count = tables.Column(verbose_name="Postings", attrs={"td": {"class": "num"}, "th": {"class": "num"}})

    class Meta(AtlasTable.Meta):
        model = Account
        fields = ("code", "client", "client_name", "kind", "currency", "normal_side", "balance", "posting_count")
        sequence = fields
        order_by = ("code",)
        per_page = 50
        empty_text = "No accounts match."

    def render_client(self, value):
        return format_html('<a href="{}">{}</a>', client_url(value), value)

    # The raw codes (``settlement``, ``EUR``), not the choices' generated labels ("Eur").
    def render_kind(self, record):
        return record.kind

    def value_kind(self, record):
        return record.kind

    def render_currency(self, record):
        return record.currency

    def value_currency(self, record):
        return record.currency

    def render_normal_side(self, record):
        return record.get_normal_side_display()

    def value_normal_side(self, record):
        return record.get_normal_side_display()
