from django.core.management.base import BaseCommand, CommandError

from accounts.services import staff_user_create
from billing_ops.access import ROLES
from billing_ops.actors import system
from billing_ops.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a staff user with one role (super_admin, billing or onboarding)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", required=True)

    def handle(self, *args, username, email, role, password, **options):
        try:
            user = staff_user_create(username=username, email=email, role=role, password=password, actor=system("create_staff_user"))
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Created {role} user {user.username}"))
