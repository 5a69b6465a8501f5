"""Filters for the ledger pages (django-filter).

- :class:`AccountFilter`: the accounts list (``/ledger/``): client (id or name), kind,
  currency, client vs house accounts.
- :class:`StatementFilter`: the date range of an account statement; it only validates the
  range (the statement view applies it together with its keyset pagination).
"""

import django_filters
from django import forms
from django.db.models import Q

from atlas.widgets import Select
from clients.models import Currency
from ledger.models import Account, AccountKind


class AccountFilter(django_filters.FilterSet):
    OWNER_CHOICES = (("client", "client accounts"), ("house", "house accounts"))

    client = django_filters.CharFilter(
        label="Client (id or name)",
        method="filter_client",
        widget=forms.TextInput(attrs={"placeholder": "CL0001 or name", "class": "form-control form-control-sm"}),
    )
    kind = django_filters.ChoiceFilter(
        choices=AccountKind.choices,
        empty_label="any kind",
        widget=Select(attrs={"class": "form-select form-select-sm"}),
    )
    currency = django_filters.ChoiceFilter(
        choices=Currency.choices,
        empty_label="any currency",
        widget=Select(attrs={"class": "form-select form-select-sm"}),
    )
    owner = django_filters.ChoiceFilter(
        label="Client or house",
        choices=OWNER_CHOICES,
        empty_label="client and house",
        method="filter_owner",
        widget=Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = Account
        fields = ["client", "kind", "currency", "owner"]

    def filter_client(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(client__client_id__iexact=value) | Q(client__name__icontains=value))

    def filter_owner(self, queryset, name, value):
        if value == "client":
            return queryset.filter(client__isnull=False)
        if value == "house":
            return queryset.filter(client__isnull=True)
        return queryset


class StatementFilterForm(forms.Form):
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def apply(self, queryset):
        """Filter a Posting queryset by the (valid) date range; an invalid form filters nothing."""
        if not self.is_valid():
            return queryset
        if self.cleaned_data.get("date_from"):
            queryset = queryset.filter(date__gte=self.cleaned_data["date_from"])
        if self.cleaned_data.get("date_to"):
            queryset = queryset.filter(date__lte=self.cleaned_data["date_to"])
        return queryset
