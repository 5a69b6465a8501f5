"""Forms of the risk pages. They only parse and validate input; the services decide."""

from decimal import Decimal

from django import forms

from clients.models import Client
from risk.models import RiskPolicy
from risk.services import POLICY_FIELDS

_RATE = {"max_digits": 9, "decimal_places": 6, "min_value": Decimal("0"), "max_value": Decimal("1")}


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
        field.widget.attrs.setdefault("class", css)


class AsOfForm(forms.Form):
    as_of = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class PolicyForm(forms.Form):
    exposure_warning_level = forms.DecimalField(
        **_RATE, help_text="Fraction of the credit limit (0.90 = 90 %) from which a warning shows."
    )
    min_payout = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal("0"), help_text="Smallest amount proposed as a payout."
    )
    overdue_share_level = forms.DecimalField(
        **_RATE, help_text="Open amount more than 90 days past due / total open, above which a warning shows."
    )
    default_concentration_limit = forms.DecimalField(
        **_RATE, help_text="Debtor concentration limit for debtors without their own."
    )
    reason = forms.CharField(required=False, help_text="Why the policy changes (audited).")

    def __init__(self, *args, policy: RiskPolicy, **kwargs):
        kwargs.setdefault("initial", {f: getattr(policy, f) for f in POLICY_FIELDS})
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def clean_exposure_warning_level(self):
        value = self.cleaned_data["exposure_warning_level"]
        if value <= 0:
            raise forms.ValidationError("The warning level must be above 0.")
        return value


class ClientTermsForm(forms.Form):
    credit_limit = forms.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))
    advance_rate = forms.DecimalField(**_RATE)
    reserve_rate = forms.DecimalField(**_RATE)
    reserve_hold_days = forms.IntegerField(min_value=0)
    fee_rate = forms.DecimalField(**_RATE, required=False)
    partner_reserve_rate = forms.DecimalField(**_RATE, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Required; audited.")

    def __init__(self, *args, client: Client, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "credit_limit": client.credit_limit,
                "advance_rate": client.advance_rate,
                "reserve_rate": client.reserve_rate,
                "reserve_hold_days": client.reserve_hold_days,
                "fee_rate": client.fee_rate,
                "partner_reserve_rate": client.partner_reserve_rate,
            },
        )
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        _bootstrap(self)
