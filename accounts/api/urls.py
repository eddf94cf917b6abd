from django.urls import path

from accounts.api import views

urlpatterns = [
    path("tenants/", views.TenantListCreateApi.as_view(), name="tenant-list"),
    path("tenants/<int:pk>/", views.TenantDetailApi.as_view(), name="tenant-detail"),
    path("tenants/<int:pk>/credit", views.TenantCreditApi.as_view(), name="tenant-credit"),
]
