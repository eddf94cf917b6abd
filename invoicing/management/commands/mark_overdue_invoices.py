"""Mark issued invoices past their due date as overdue now (the same function the 02:00 UTC task calls)."""
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Move issued invoices past their due date to overdue (each emits invoice.overdue)."

    def handle(self, *args, **options):
        from invoicing.tasks import mark_overdue_invoices

        self.stdout.write(f"{mark_overdue_invoices()} invoice(s) marked overdue.")
