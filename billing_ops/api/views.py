"""API plumbing shared by every app."""
from drf_spectacular.views import SpectacularAPIView

from billing_ops.access import READ


class SchemaApi(SpectacularAPIView):
    capabilities = {"GET": READ}
