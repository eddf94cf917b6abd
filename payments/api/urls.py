from django.urls import path

from payments.api import views

urlpatterns = [
    path("payments/", views.PaymentListCreateApi.as_view(), name="payment-list"),
    # CONTRACT §4 writes `POST /api/payments` without the slash; POST cannot follow a redirect.
    path("payments", views.PaymentListCreateNoSlashApi.as_view(), name="payment-list-noslash"),
    path("payments/<int:pk>/", views.PaymentDetailApi.as_view(), name="payment-detail"),
    path("payments/<int:pk>/refund", views.PaymentRefundApi.as_view(), name="payment-refund"),
    path("billing/auto-charge/run", views.AutoChargeRunApi.as_view(), name="auto-charge-run"),
    path("payment-config/", views.PaymentConfigApi.as_view(), name="payment-config"),
    path("payment-config/test-connection", views.PaymentConfigTestApi.as_view(), name="payment-config-test"),
]
