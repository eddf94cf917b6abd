from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments (Paystack)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Event subscribers (credit_note.refund_requested) register on import.
        from payments import panels
        from payments.services import refunds  # noqa: F401

        panels.register()
