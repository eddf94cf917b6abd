"""Forms of the dunning screens. Validation rules live in dunning.policy (shared with the API)."""
from __future__ import annotations

from django import forms

from dunning import policy as rules
from dunning.models import NotificationKind

LADDER_ROWS_EXTRA = 1


class PolicyForm(forms.Form):
    max_retries = forms.IntegerField(min_value=0, max_value=20)
    retry_interval_days = forms.CharField(help_text="Days between retries, one per retry, e.g. 1, 2, 3, 5, 7")
    grace_period_days = forms.IntegerField(min_value=1, max_value=rules.MAX_DAYS, help_text="Days after the due date before suspension")
    suspend_after_retries = forms.BooleanField(required=False, label="Suspend when retries are exhausted")
    auto_retry_enabled = forms.BooleanField(required=False, label="Retry failed payments automatically")
    retry_method_order = forms.CharField(help_text="In order: default_card, other_cards")

    @classmethod
    def initial_from(cls, policy) -> dict:
        return {
            "max_retries": policy.max_retries, "retry_interval_days": ", ".join(map(str, policy.retry_interval_days)),
            "grace_period_days": policy.grace_period_days, "suspend_after_retries": policy.suspend_after_retries,
            "auto_retry_enabled": policy.auto_retry_enabled, "retry_method_order": ", ".join(policy.retry_method_order),
        }


def ladder_rows(ladder: list[dict]) -> list[dict]:
    """The ladder as editable rows, plus one empty row to add a step."""
    rows = [dict(step) for step in ladder]
    rows += [{"key": "", "label": "", "anchor": "failure", "retry": None, "offset_days": 0, "template": "dunning_reminder",
              "channel": "email"} for _ in range(LADDER_ROWS_EXTRA)]
    return rows


def ladder_from_post(data) -> list[dict]:
    """Rows ``ladder-<i>-<field>``; a row with an empty key (or ticked for removal) is dropped."""
    steps, index = [], 0
    while f"ladder-{index}-key" in data:
        prefix = f"ladder-{index}-"
        key = (data.get(prefix + "key") or "").strip()
        if key and not data.get(prefix + "remove"):
            retry = (data.get(prefix + "retry") or "").strip()
            steps.append({
                "key": key, "label": (data.get(prefix + "label") or "").strip(), "anchor": data.get(prefix + "anchor"),
                "retry": retry or None, "offset_days": (data.get(prefix + "offset_days") or "0").strip(),
                "template": data.get(prefix + "template"), "channel": data.get(prefix + "channel"),
            })
        index += 1
    return steps


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=200)


class WriteOffForm(forms.Form):
    reason = forms.CharField(max_length=200)


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=255)
    body_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), label="Text body")
    body_html = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), required=False, label="HTML body")


TEMPLATE_CHOICES = NotificationKind.choices
