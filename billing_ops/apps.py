from django.apps import AppConfig


class BillingOpsConfig(AppConfig):
    """Cross-app plumbing. Its label is `billing` so capabilities read `billing.read` etc."""

    name = "billing_ops"
    label = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing_ops import periodic  # noqa: F401  (connects post_migrate)
        from billing_ops.analytics import panels  # noqa: F401  (dashboard MRR panel, issue 8)
