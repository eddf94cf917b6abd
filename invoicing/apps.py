from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from importlib import import_module

        from billing_ops.dashboard import register_panel
        from billing_ops.tenant_panels import register_tenant_panel
        from invoicing.panels import (
            receivables_dashboard_panel,
            recent_invoices_tenant_panel,
        )

        import_module("invoicing.subscribers")  # registers the event subscribers
        register_tenant_panel(recent_invoices_tenant_panel)
        register_panel(receivables_dashboard_panel)
