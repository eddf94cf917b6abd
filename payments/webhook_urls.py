from django.urls import path

from payments.webhooks import PaystackWebhookView

app_name = "webhooks"

urlpatterns = [path("paystack", PaystackWebhookView.as_view(), name="paystack")]
