"""Re-encrypt every stored secret with the primary FIELD_ENCRYPTION_KEY (key rotation, see README)."""
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from billing_ops import crypto
from billing_ops.fields import EncryptedTextField


def rotate_all() -> int:
    rotated = 0
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        columns = [f.attname for f in fields]
        # Read ciphertext without decrypting (values() goes through from_db_value, so use raw SQL).
        table, pk = model._meta.db_table, model._meta.pk.column
        with transaction.atomic():
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {pk}, {', '.join(columns)} FROM {table}")
                rows = cursor.fetchall()
                for row in rows:
                    updates = {c: crypto.rotate(v) for c, v in zip(columns, row[1:], strict=True) if v}
                    if updates:
                        assignments = ", ".join(f"{c} = %s" for c in updates)
                        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*updates.values(), row[0]])
                        rotated += 1
    return rotated


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        count = rotate_all()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted secrets on {count} rows."))
