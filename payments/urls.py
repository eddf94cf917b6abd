from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("billing/payments/", views.PaymentListView.as_view(), name="list"),
    path("billing/payments/new/", views.ManualPaymentView.as_view(), name="manual"),
    path("billing/payments/review/", views.WebhookReviewView.as_view(), name="review"),
    path("billing/payments/review/<int:pk>/resolve/", views.WebhookResolveView.as_view(), name="review-resolve"),
    path("billing/payments/auto-charge/", views.AutoChargeRunView.as_view(), name="auto-charge"),
    path("billing/payments/charge/<int:invoice_pk>/", views.ChargeInvoiceView.as_view(), name="charge-invoice"),
    path("billing/payments/<int:pk>/", views.PaymentDetailView.as_view(), name="detail"),
    path("billing/payments/<int:pk>/refund/", views.PaymentRefundView.as_view(), name="refund"),
    path("billing/payment-methods/<int:pk>/default/", views.PaymentMethodDefaultView.as_view(), name="method-default"),
    path("billing/payment-config/", views.PaymentConfigView.as_view(), name="config"),
    path("billing/payment-config/test/", views.PaymentConfigTestView.as_view(), name="config-test"),
]
