from decimal import Decimal

from django import forms

from billing_ops.filters import DateInput
from payments.models import MANUAL_METHODS, PaymentMethodKind, PaystackMode

MANUAL_METHOD_CHOICES = [(value, label) for value, label in PaymentMethodKind.choices if value in MANUAL_METHODS]


class ManualPaymentForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"))
    method = forms.ChoiceField(choices=MANUAL_METHOD_CHOICES, initial=PaymentMethodKind.BANK_TRANSFER)
    reference = forms.CharField(max_length=100, required=False, help_text="Bank transfer or cheque reference")
    received_at = forms.DateField(required=False, widget=DateInput, label="Received on")
    overpayment_to_credit = forms.BooleanField(
        required=False, label="Put any excess on the tenant's account credit",
        help_text="Without this, an amount above the amount due is refused.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                help_text="Leave empty to refund everything still refundable.")
    reason = forms.CharField(max_length=255)


class PaystackConfigForm(forms.Form):
    mode = forms.ChoiceField(choices=PaystackMode.choices, widget=forms.RadioSelect)
    test_public_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                      help_text="Leave empty to keep the stored key.")
    test_secret_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                      help_text="Leave empty to keep the stored key.")
    live_public_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                      help_text="Leave empty to keep the stored key.")
    live_secret_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                      help_text="Leave empty to keep the stored key.")

    def service_kwargs(self) -> dict:
        data = {"mode": self.cleaned_data["mode"]}
        for name in ("test_public_key", "test_secret_key", "live_public_key", "live_secret_key"):
            data[name] = self.cleaned_data.get(name) or None  # empty keeps the stored key
        return data


class ResolveForm(forms.Form):
    note = forms.CharField(max_length=255, required=False)
