from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from invoicing import subscribers  # noqa: F401  (registers the event subscribers)
        from billing_ops.dashboard import register_panel
        from billing_ops.tenant_panels import register_tenant_panel
        from invoicing.panels import receivables_dashboard_panel, recent_invoices_tenant_panel

        register_tenant_panel(recent_invoices_tenant_panel)
        register_panel(receivables_dashboard_panel)
