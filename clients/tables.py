"""Tables of the clients pages (all derive from atlas.tables.AtlasTable)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from atlas.tables import AtlasTable, MoneyColumn, RatioColumn, StatusColumn

BAND_BADGES = {"ok": ("success", "within limit"), "warning": ("warning", "warning"), "over": ("danger", "over limit")}


class ClientTable(AtlasTable):
    export_filename = "clients"

    client_id = tables.Column(verbose_name="Client")
    name = tables.Column(verbose_name="Name")
    currency = tables.Column(verbose_name="Currency")
    status = StatusColumn(verbose_name="Status")
    credit_limit = MoneyColumn(verbose_name="Credit limit")
    exposure = MoneyColumn(verbose_name="Exposure")
    exposure_ratio = RatioColumn(verbose_name="Exposure ratio")
    band = tables.Column(verbose_name="Band", orderable=False)
    available = MoneyColumn(verbose_name="Available")
    shortfall = MoneyColumn(verbose_name="Shortfall")

    class Meta(AtlasTable.Meta):
        order_by = ("client_id",)
        empty_text = "No clients match. Change the filters, or import a workbook."

    def render_client_id(self, value, record):
        return format_html('<a href="{}">{}</a>', reverse("clients:detail", args=[value]), value)

    def render_band(self, value):
        colour, label = BAND_BADGES.get(value, ("secondary", value))
        return format_html(
            '<span class="badge text-bg-{}{}">{}</span>', colour, " text-dark" if colour == "warning" else "", label
        )

    def value_band(self, value):
        return value
