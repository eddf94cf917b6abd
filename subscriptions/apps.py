from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing_ops.dashboard import register_panel
        from billing_ops.tenant_panels import register_tenant_panel
        from subscriptions import handlers  # noqa: F401  (subscribes to invoice events)
        from subscriptions.panels import dashboard_panel, tenant_subscription_panel

        register_tenant_panel(tenant_subscription_panel)
        register_panel(dashboard_panel)
