from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("clients/tenants/", views.TenantListView.as_view(), name="tenant-list"),
    path("clients/tenant-new/", views.TenantCreateView.as_view(), name="tenant-create"),
    path("clients/tenant/<int:pk>/", views.TenantDetailView.as_view(), name="tenant-detail"),
    path("clients/tenant/<int:pk>/edit/", views.TenantEditView.as_view(), name="tenant-edit"),
    path("clients/tenant/<int:pk>/credit/", views.TenantCreditView.as_view(), name="tenant-credit"),
    path("clients/tenant/<int:pk>/onboarding/", views.TenantAssignView.as_view(), name="tenant-assign"),
    path("billing/audit/", views.AuditLogView.as_view(), name="audit-log"),
]
