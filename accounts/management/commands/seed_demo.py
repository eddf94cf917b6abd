"""Fill an empty database with demo data. Each app contributes through `<app>/demo.py: seed(ctx)`."""
from importlib import import_module

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing_ops.actors import system
from billing_ops.urls import DOMAIN_APPS


class Command(BaseCommand):
    help = "Create demo staff (one per role), tenants, plans, subscriptions, invoices, payments and dunning cases."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing (and succeed) when demo data exists.")

    def handle(self, *args, if_empty=False, **options):
        from accounts.demo import is_seeded

        if is_seeded():
            if if_empty:
                self.stdout.write("Demo data already present; nothing to do.")
                return
            raise CommandError("The database already has tenants; seed_demo fills an empty database only.")
        ctx = {"actor": system("seed_demo"), "stdout": self.stdout}
        with transaction.atomic():
            for app in DOMAIN_APPS:
                try:
                    module = import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.seed(ctx)
                self.stdout.write(f"  seeded {app}")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Staff logins:"))
        for role, username, password in ctx.get("logins", []):
            self.stdout.write(f"  {role:<12} username={username:<11} password={password}")
