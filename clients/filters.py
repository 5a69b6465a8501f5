"""Filters of the clients list (django-filter).

``band`` (exposure band) is not a database field: it is read from the computed figures by
``clients.selectors.client_list_rows``; the FilterSet only validates the choice.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from atlas.filters import AsOfFilter, bootstrap_form
from atlas.widgets import Select
from clients.models import Client, Currency, Partner

BAND_OK, BAND_WARNING, BAND_OVER = "ok", "warning", "over"
BAND_CHOICES = (
    (BAND_OK, "Within limit"),
    (BAND_WARNING, "Warning (≥ warning level)"),
    (BAND_OVER, "Over limit"),
)


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search", label="Search", widget=forms.TextInput(attrs={"placeholder": "Client id or name"})
    )
    status = django_filters.ChoiceFilter(choices=Client.Status.choices, empty_label="Any status", widget=Select)
    currency = django_filters.ChoiceFilter(choices=Currency.choices, empty_label="Any currency", widget=Select)
    # One option per partner (grows with the book): atlas.widgets.Select renders it without a template per option.
    partner = django_filters.ModelChoiceFilter(queryset=Partner.objects.all(), empty_label="Any partner", widget=Select)
    band = django_filters.ChoiceFilter(
        choices=BAND_CHOICES, method="filter_band", label="Exposure band", empty_label="Any band", widget=Select
    )

    class Meta:
        model = Client
        fields = ["q", "status", "currency", "partner", "band", "as_of"]

    as_of = AsOfFilter()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_form(self.form)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(client_id__icontains=value) | Q(name__icontains=value))

    def filter_band(self, queryset, name, value):
        # Applied on the figures (see clients.selectors.client_list_rows).
        return queryset

    @property
    def selected_band(self) -> str | None:
        if not self.is_bound or not self.form.is_valid():
            return None
        return self.form.cleaned_data.get("band") or None
