"""Run the auto-charge now and print its summary (the same run as the hourly task and the dashboard button)."""
import json

from django.core.management.base import BaseCommand

from billing_ops.actors import system
from payments.services import run_auto_charge


class Command(BaseCommand):
    help = "Charge due invoices to saved cards; prints charged/failed/pending/skipped/errors."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=50)
        parser.add_argument("--workers", type=int, default=None, help="Concurrent charges (PostgreSQL only)")
        parser.add_argument("--json", action="store_true", help="Print the full summary as JSON")

    def handle(self, *args, batch_size, workers, json: bool = False, **options):
        summary = run_auto_charge(actor=system("manage.py run_auto_charge"), batch_size=batch_size, max_workers=workers)
        if json:
            self.stdout.write(_dumps(summary))
            return
        for row in summary["invoices"]:
            self.stdout.write(f"  invoice {row['invoice']}: {row['status']} {row['reason']} {row['reference'] or ''}".rstrip())
        self.stdout.write(
            "charged {charged}, failed {failed}, pending {pending}, skipped {skipped}, errors {errors}".format(**summary)
        )


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
