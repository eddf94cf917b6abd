from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from dunning import panels, subscribers  # noqa: F401  (registers event subscribers and panels)
