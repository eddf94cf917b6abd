"""Issue (or rotate) the API token of a usage-ingestion client: prints the token once."""
from django.core.management.base import BaseCommand

from billing_ops.actors import system


class Command(BaseCommand):
    help = "Create a machine client that may POST /api/usage-events, and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Client name, e.g. 'metering-gateway'")

    def handle(self, *args, name, **options):
        from subscriptions.usage import usage_client_create

        user, key = usage_client_create(actor=system("create_usage_client"), name=name)
        self.stdout.write(f"{user.username} token: {key}")
        self.stdout.write("Send it as 'Authorization: Token <key>'.")
