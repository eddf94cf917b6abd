"""Forms of the invoicing screens. They only parse input; the services decide."""
from __future__ import annotations

from decimal import Decimal

from django import forms

from billing_ops.filters import DateInput
from billing_ops.money import CURRENCY_CHOICES
from invoicing.models import CreditResolution


class InvoiceForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None)
    currency = forms.ChoiceField(choices=[("", "Tenant's currency"), *CURRENCY_CHOICES], required=False)
    due_date = forms.DateField(required=False, widget=DateInput, help_text="Empty: the tenant's payment terms from the day it is sent")
    discount_kind = forms.ChoiceField(choices=[("", "No discount"), ("percent", "Percent"), ("amount", "Amount")], required=False, label="Discount")
    discount_value = forms.DecimalField(required=False, min_value=Decimal(0), max_digits=18, decimal_places=2, label="Discount value")
    discount_description = forms.CharField(required=False, max_length=255, label="Discount label")
    credit = forms.DecimalField(required=False, min_value=Decimal(0), max_digits=18, decimal_places=2, label="Account credit to apply")
    memo = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Notes on the invoice")

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants

    def discount(self):
        kind, value = self.cleaned_data.get("discount_kind"), self.cleaned_data.get("discount_value")
        if not kind or value is None:
            return None
        return {kind: value}


class LineForm(forms.Form):
    description = forms.CharField(max_length=255)
    quantity = forms.DecimalField(min_value=Decimal(0), max_digits=18, decimal_places=4, initial=Decimal(1))
    unit_price = forms.DecimalField(min_value=Decimal(0), max_digits=18, decimal_places=6)
    tax_rate = forms.DecimalField(min_value=Decimal(0), max_value=Decimal(100), max_digits=7, decimal_places=4, initial=Decimal(0),
                                  label="Tax %")


LineFormSet = forms.formset_factory(LineForm, extra=0, min_num=1, validate_min=True, max_num=200)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=255)


class CreditNoteForm(forms.Form):
    mode = forms.ChoiceField(choices=[("amount", "An amount (spread over the lines)"), ("lines", "Whole lines")], initial="amount")
    amount = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_digits=18, decimal_places=2)
    lines = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple(attrs={"style": "width:auto"}))
    reason = forms.CharField(max_length=255)
    resolution = forms.ChoiceField(choices=CreditResolution.choices, initial=CreditResolution.REDUCE_DUE)

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [(str(line.pk), line.description) for line in invoice.lines.all()]

    def clean(self):
        data = super().clean()
        if data.get("mode") == "amount" and not data.get("amount"):
            self.add_error("amount", "Enter the amount to credit.")
        if data.get("mode") == "lines" and not data.get("lines"):
            self.add_error("lines", "Choose at least one line.")
        return data
