"""Forms of the reconciliation pages; validation of amounts uses atlas.money."""

from decimal import Decimal

from django import forms

from atlas.money import MoneyError, parse_amount
from clients.models import Receivable
from payouts.models import Payout
from reconciliation.parsers import MAX_BYTES


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label="Bank statement (camt.053 XML or CSV)",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xml,.csv,text/xml,text/csv"}),
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
        return f


class ManualPayoutForm(forms.Form):
    payout_id = forms.CharField(max_length=64, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    note = forms.CharField(required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))

    def clean_payout_id(self):
        value = self.cleaned_data["payout_id"].strip()
        payout = Payout.objects.select_related("client").filter(payout_id=value).first()
        if payout is None:
            raise forms.ValidationError(f"No payout {value}.")
        return payout


class ManualReceivablesForm(forms.Form):
    """``receivables``: ``R001=100.00, R002`` (no amount: its whole open amount)."""

    receivables = forms.CharField(
        max_length=2000,
        help_text="receivable ids, optionally =amount, comma separated",
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    note = forms.CharField(required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))

    def __init__(self, *args, currency: str = "EUR", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_receivables(self):
        items = []
        for part in self.cleaned_data["receivables"].split(","):
            part = part.strip()
            if not part:
                continue
            rid, _, amount = part.partition("=")
            items.append((rid.strip(), amount.strip()))
        if not items:
            raise forms.ValidationError("Name at least one receivable.")
        found = {r.receivable_id: r for r in Receivable.objects.filter(receivable_id__in=[i for i, _ in items])}
        out: list[tuple[Receivable, Decimal]] = []
        for rid, amount in items:
            r = found.get(rid)
            if r is None:
                raise forms.ValidationError(f"No receivable {rid}.")
            if amount:
                try:
                    value = parse_amount(amount, self.currency)
                except MoneyError as exc:
                    raise forms.ValidationError(f"{rid}: {exc}") from None
            else:
                value = r.open_amount
            out.append((r, value))
        return out


class UnmatchForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


class DecisionForm(forms.Form):
    """Approve or reject a manual match request; a rejection needs a reason."""

    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    reason = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"})
    )
    next = forms.ChoiceField(required=False, choices=[("", "statement"), ("index", "index")])

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give a reason to reject.")
        return data
