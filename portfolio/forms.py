"""The scenario form of the overview page (GET parameters, validated, errors beside fields)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils import timezone

from portfolio.projection import Scenario

MAX_MONTHS = 120


@dataclass(frozen=True)
class ScenarioParams:
    as_of: dt.date
    months: int
    scenario: Scenario
    currency: str


class ScenarioForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="As of",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Default: today.",
    )
    months = forms.IntegerField(required=False, min_value=1, max_value=MAX_MONTHS, label="Months", help_text="1–120")
    default_rate = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(1),
        max_digits=7,
        decimal_places=6,
        label="Default rate",
        help_text="Fraction 0–1 (0.05 = 5 %)",
    )
    delay_days = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Collection delay (days)")
    rate_shift_bp = forms.IntegerField(
        required=False, min_value=-10_000, max_value=10_000, label="Rate shift (bp)", help_text="May be negative"
    )
    currency = forms.CharField(required=False, max_length=3, widget=forms.HiddenInput)

    PLACEHOLDERS = {"months": "12", "default_rate": "0", "delay_days": "0", "rate_shift_bp": "0"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in self.PLACEHOLDERS.items():
            self.fields[name].widget.attrs["placeholder"] = text
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs.setdefault("class", "form-control form-control-sm")

    def params(self) -> ScenarioParams:
        data = self.cleaned_data
        return ScenarioParams(
            as_of=data.get("as_of") or timezone.localdate(),
            months=data.get("months") or 12,
            scenario=Scenario(
                default_rate=data.get("default_rate") or Decimal(0),
                delay_days=data.get("delay_days") or 0,
                rate_shift_bp=data.get("rate_shift_bp") or 0,
            ),
            currency=(data.get("currency") or "").upper(),
        )
