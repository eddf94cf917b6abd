from django.urls import path

from subscriptions.api import views

urlpatterns = [
    path("subscriptions/", views.SubscriptionListCreateApi.as_view(), name="subscription-list"),
    path("subscriptions/<int:pk>/", views.SubscriptionDetailApi.as_view(), name="subscription-detail"),
    path("subscriptions/<int:pk>/status", views.SubscriptionStatusApi.as_view(), name="subscription-status"),
    path("renewals/", views.RenewalListApi.as_view(), name="renewal-list"),
    path("tenants/<int:pk>/subscription/preview", views.TenantSubscriptionPreviewApi.as_view(), name="tenant-subscription-preview"),
    path("tenants/<int:pk>/subscription/items", views.TenantSubscriptionItemsApi.as_view(), name="tenant-subscription-items"),
    path("plans/", views.PlanListCreateApi.as_view(), name="plan-list"),
    path("plans/<int:pk>/", views.PlanDetailApi.as_view(), name="plan-detail"),
    path("coupons/", views.CouponListCreateApi.as_view(), name="coupon-list"),
]
