"""Filters of the payout queue (django-filter): client, currency, amount range, check code.

The status is not a filter field: the queue shows it as tabs (``?status=``) with counts over the other filters.
"""

import django_filters
from django import forms
from django.db.models import Q

from atlas.widgets import Select
from clients.models import Currency
from payouts.checks import CHECK_CODES
from payouts.models import Payout

SM = {"class": "form-control form-control-sm"}


class PayoutFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(
        label="Client (id or name)",
        method="filter_client",
        widget=forms.TextInput(attrs=SM | {"placeholder": "CL0001 or name"}),
    )
    currency = django_filters.ChoiceFilter(
        choices=Currency.choices,
        empty_label="any currency",
        widget=Select(attrs={"class": "form-select form-select-sm"}),
    )
    amount_min = django_filters.NumberFilter(
        field_name="amount",
        lookup_expr="gte",
        label="Amount from",
        widget=forms.NumberInput(attrs=SM | {"step": "0.01"}),
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount", lookup_expr="lte", label="Amount to", widget=forms.NumberInput(attrs=SM | {"step": "0.01"})
    )
    check = django_filters.ChoiceFilter(
        label="Check",
        choices=[(code, code) for code in CHECK_CODES],
        empty_label="any check",
        method="filter_check",
        widget=Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = Payout
        fields = ["client", "currency", "amount_min", "amount_max", "check"]

    def filter_client(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(client__client_id__iexact=value) | Q(client__name__icontains=value))

    def filter_check(self, queryset, name, value):
        return queryset.filter(check_codes__contains=f",{value},") if value else queryset
