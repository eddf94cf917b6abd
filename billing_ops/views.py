"""Base screens: a filtered, sorted, keyset-paginated list; the dashboard; error pages."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.generic import TemplateView

from billing_ops.access import READ, WRITE, CapabilityRequiredMixin, has_capability
from billing_ops.errors import ApplicationError
from billing_ops.pagination import InvalidCursor, paginate


class ListScreen(CapabilityRequiredMixin, TemplateView):
    """A list with one FilterSet (shared with the API), whitelisted sorts and keyset pages.

    Subclasses set ``filterset_class``, ``sort_options`` ({param: (label, field)}),
    ``default_sort`` and implement ``get_queryset()`` from their selector.
    """

    capabilities = {"GET": READ}
    filterset_class = None
    sort_options: dict[str, tuple[str, str]] = {}
    default_sort = "-id"
    page_size = settings.LIST_PAGE_SIZE

    def get_queryset(self):
        raise NotImplementedError

    def current_sort(self) -> str:
        requested = self.request.GET.get("sort", "")
        key = requested.lstrip("-")
        if key in self.sort_options:
            field = self.sort_options[key][1]
            return ("-" if requested.startswith("-") else "") + field
        return self.default_sort

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = self.get_queryset()
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
            queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
        try:
            page = paginate(queryset, sort=self.current_sort(), page_size=self.page_size, cursor=self.request.GET.get("cursor"))
        except InvalidCursor:
            page = paginate(queryset, sort=self.current_sort(), page_size=self.page_size)
        params = self.request.GET.copy()
        params.pop("cursor", None)
        context.update(
            filter=filterset,
            page=page,
            object_list=page.items,
            query_without_cursor=params.urlencode(),
            sort=self.request.GET.get("sort", ""),
            sort_options=self.sort_options,
            can_write=has_capability(self.request.user, WRITE),  # every list shows its actions only to writers
        )
        return context


class DashboardView(CapabilityRequiredMixin, TemplateView):
    capabilities = {"GET": READ}
    template_name = "billing/dashboard.html"

    def get_context_data(self, **kwargs):
        from billing_ops.dashboard import dashboard_panels

        context = super().get_context_data(**kwargs)
        context["panels"] = dashboard_panels(user=self.request.user)
        return context


def application_error_to_message(request, exc: ApplicationError) -> None:
    """Screens show a refused action as a flash message; nothing changed."""
    messages.error(request, exc.message)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        from billing_ops.api.errors import json_error_response

        return json_error_response(request, 403, "permission_denied", "You do not have permission to do this.")
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/") or request.path.startswith("/webhooks/"):
        from billing_ops.api.errors import api_not_found

        return api_not_found(request)
    return render(request, "404.html", status=404)


def bad_request(request, exception=None):
    if request.path.startswith("/api/") or request.path.startswith("/webhooks/"):
        from billing_ops.api.errors import json_error_response

        return json_error_response(request, 400, "bad_request", "Bad request.")
    return HttpResponseBadRequest("Bad request")


def server_error(request):
    if request.path.startswith("/api/") or request.path.startswith("/webhooks/"):
        from billing_ops.api.errors import json_error_response

        return json_error_response(request, 500, "server_error", "Something went wrong on our side.")
    return render(request, "500.html", status=500)
