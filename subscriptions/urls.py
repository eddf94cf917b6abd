from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("billing/subscriptions/", views.SubscriptionListView.as_view(), name="list"),
    path("billing/subscription-new/", views.SubscriptionCreateView.as_view(), name="create"),
    path("billing/subscriptions/<int:pk>/", views.SubscriptionDetailView.as_view(), name="detail"),
    path("billing/subscriptions/<int:pk>/edit/", views.SubscriptionEditView.as_view(), name="edit"),
    path("billing/subscriptions/<int:pk>/status/", views.SubscriptionStatusView.as_view(), name="status"),
    path("billing/renewals/", views.RenewalListView.as_view(), name="renewals"),
    path("billing/plans/", views.PlanListView.as_view(), name="plan-list"),
    path("billing/plan-new/", views.PlanCreateView.as_view(), name="plan-create"),
    path("billing/coupons/", views.CouponListView.as_view(), name="coupon-list"),
    path("billing/coupon-new/", views.CouponCreateView.as_view(), name="coupon-create"),
    path("clients/tenant/<int:pk>/subscription", views.TenantSubscriptionView.as_view(), name="tenant"),
]
