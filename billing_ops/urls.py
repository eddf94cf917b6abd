"""URL map. Each app owns its screens (`<app>/urls.py`) and API (`<app>/api/urls.py`);
apps that do not exist yet are skipped so that the project always starts."""
from importlib.util import find_spec

from django.urls import include, path

from accounts import views as account_views
from billing_ops import views as billing_views
from billing_ops.api.views import SchemaApi

DOMAIN_APPS = ["accounts", "subscriptions", "invoicing", "payments", "dunning"]


def _exists(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


billing_patterns = [
    path("", billing_views.DashboardView.as_view(), name="dashboard"),
]

api_patterns = [path("schema/", SchemaApi.as_view(), name="schema")]
screen_patterns = []
for app in DOMAIN_APPS:
    if _exists(f"{app}.api.urls"):
        api_patterns.append(path("", include(f"{app}.api.urls")))
    if _exists(f"{app}.urls"):
        screen_patterns.append(path("", include(f"{app}.urls")))
# Usage billing (issue 8): usage events, meters, a subscription's usage; and revenue analytics.
if _exists("subscriptions.usage_urls"):
    from subscriptions import usage_urls

    api_patterns += usage_urls.api_patterns
    screen_patterns.append(path("", include((usage_urls.screen_patterns, "usage"))))
if _exists("billing_ops.analytics.urls"):
    from billing_ops.analytics import urls as analytics_urls

    billing_patterns += analytics_urls.billing_patterns

# The Paystack webhook first: it is the busiest URL, and resolving it after every app's patterns cost
# it ~60 pattern matches per delivery.
webhook_patterns = [path("webhooks/", include("payments.webhook_urls"))] if _exists("payments.webhook_urls") else []

urlpatterns = [
    *webhook_patterns,
    path("", account_views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("billing/", include((billing_patterns, "billing"))),
    path("api/", include((api_patterns, "api"))),
    *screen_patterns,
]

handler400 = "billing_ops.views.bad_request"
handler403 = "billing_ops.views.permission_denied"
handler404 = "billing_ops.views.page_not_found"
handler500 = "billing_ops.views.server_error"
