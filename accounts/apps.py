from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    # The data migration creates the roles; this keeps them after a flush (tests) and after
    # capabilities are added in a release, so groups always match ROLE_CAPABILITIES.
    from django.apps import apps

    from accounts.roles import sync_role_groups

    sync_role_groups(apps)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff, tenants and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
