"""Back-fill the daily (and closed monthly) analytics snapshots for a date range."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Write daily MRR/revenue/usage snapshots for every day in a range, and the monthly ones of closed months."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="Last day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--replace", action="store_true",
                            help="Recompute per-subscription MRR of days that already have snapshots "
                                 "(default: keep them; they were taken on the day)")

    def handle(self, *args, start, end, replace, **options):
        from billing_ops.analytics.snapshots import backfill

        today = timezone.now().date()
        try:
            first = dt.date.fromisoformat(start)
            last = dt.date.fromisoformat(end) if end else today - dt.timedelta(days=1)
            result = backfill(first, last, replace=replace, today=today)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Snapshots written for {result['days']} day(s) and {result['months']} closed month(s).")
