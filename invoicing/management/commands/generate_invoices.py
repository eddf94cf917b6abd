"""Run invoice generation now (the same function the 01:00 UTC task calls)."""
import datetime as dt

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Generate and issue the invoices of every subscription period that has begun and has none yet."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Run as of this date (YYYY-MM-DD); default today (UTC)")

    def handle(self, *args, today=None, **options):
        from billing_ops.actors import system
        from invoicing.generation import generate_due_invoices

        made = generate_due_invoices(actor=system("manage.py generate_invoices"), today=today)
        self.stdout.write(f"{made} invoice(s) generated.")
