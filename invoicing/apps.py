from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing_ops.tenant_panels import register_tenant_panel
        from invoicing.panels import recent_invoices_tenant_panel

        register_tenant_panel(recent_invoices_tenant_panel)
