"""Shared helpers for filter forms and query parameters."""

from __future__ import annotations

import datetime

import django_filters
from django import forms


def as_of_param(request) -> datetime.date | None:
    """``?as_of=YYYY-MM-DD`` (figures at that date); None (today) when absent or invalid."""
    value = request.GET.get("as_of", "")
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


class AsOfFilter(django_filters.DateFilter):
    """An ``as_of`` date field on a FilterSet that does not filter rows: the view reads it with
    :func:`as_of_param` and computes the figures at that date."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", "As of")
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        kwargs.setdefault("method", lambda queryset, name, value: queryset)
        super().__init__(*args, **kwargs)


def bootstrap_form(form) -> None:
    """Give a form's widgets Bootstrap classes (small controls)."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.Select):
            css = "form-select form-select-sm"
        elif isinstance(field.widget, forms.CheckboxInput):
            css = "form-check-input"
        else:
            css = "form-control form-control-sm"
        field.widget.attrs.setdefault("class", css)
