from django.urls import path

from invoicing.api import views

urlpatterns = [
    path("invoices/", views.InvoiceListCreateApi.as_view(), name="invoice-list"),
    path("invoices/preview", views.InvoicePreviewApi.as_view(), name="invoice-preview"),
    path("invoices/<int:pk>/", views.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/send", views.InvoiceSendApi.as_view(), name="invoice-send"),
    path("invoices/<int:pk>/void", views.InvoiceVoidApi.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/uncollectible", views.InvoiceUncollectibleApi.as_view(), name="invoice-uncollectible"),
    path("credit-notes/", views.CreditNoteListCreateApi.as_view(), name="credit-note-list"),
    path("credit-notes/<int:pk>/", views.CreditNoteDetailApi.as_view(), name="credit-note-detail"),
    path("credit-notes/<int:pk>/approve", views.CreditNoteApproveApi.as_view(), name="credit-note-approve"),
    path("credit-notes/<int:pk>/void", views.CreditNoteVoidApi.as_view(), name="credit-note-void"),
]
