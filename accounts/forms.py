from decimal import Decimal

from django import forms

from accounts.models import Tenant


class TenantForm(forms.ModelForm):
    deployment_webhook_url = forms.URLField(required=False, assume_scheme="https", label="Deployment webhook URL")
    deployment_webhook_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Signs suspension/reactivation events sent to the tenant's deployment. Leave blank to keep the current one.",
    )

    class Meta:
        model = Tenant
        fields = [
            "name", "legal_name", "tax_id_type", "tax_id", "billing_email", "address", "country",
            "currency", "payment_terms_days", "deployment_webhook_url",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").upper()

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if self.cleaned_data.get("deployment_webhook_secret"):
            data["deployment_webhook_secret"] = self.cleaned_data["deployment_webhook_secret"]
        return data


class CreditForm(forms.Form):
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=255)
