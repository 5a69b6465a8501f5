from django import forms

from atlas.money import MoneyError, parse_amount
from clients.models import Client, Receivable


class _RequestForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control form-control-sm")

    amount = forms.CharField(label="Amount", help_text="Two decimals at most.")
    date = forms.DateField(label="Booking date", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def clean_amount(self):
        value = self.cleaned_data["amount"]
        try:
            return parse_amount(value, "EUR")
        except MoneyError as exc:
            raise forms.ValidationError(str(exc))


class AdjustmentRequestForm(_RequestForm):
    client = forms.CharField(label="Client id", max_length=64)
    field_order = ["client", "amount", "date", "reason"]

    def clean_client(self):
        value = self.cleaned_data["client"].strip()
        try:
            return Client.objects.get(client_id=value)
        except Client.DoesNotExist:
            raise forms.ValidationError(f"Unknown client {value!r}.")

    def clean(self):
        data = super().clean()
        if data.get("amount") == 0:
            self.add_error("amount", "An adjustment may not be zero (use a sign for a debit).")
        return data


class WriteOffRequestForm(_RequestForm):
    receivable = forms.CharField(label="Receivable id", max_length=64)
    field_order = ["receivable", "amount", "date", "reason"]

    def clean_receivable(self):
        value = self.cleaned_data["receivable"].strip()
        try:
            return Receivable.objects.select_related("client").get(receivable_id=value)
        except Receivable.DoesNotExist:
            raise forms.ValidationError(f"Unknown receivable {value!r}.")

    def clean(self):
        data = super().clean()
        amount = data.get("amount")
        if amount is not None and amount <= 0:
            self.add_error("amount", "A write-off must be greater than zero.")
        return data


class DecisionForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 1}), max_length=1000)
