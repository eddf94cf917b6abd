from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("billing/invoices/", views.InvoiceListView.as_view(), name="list"),
    path("billing/invoices/export.csv", views.InvoiceExportCsvView.as_view(), name="export-csv"),
    path("billing/invoices/export.pdf", views.InvoiceExportPdfView.as_view(), name="export-pdf"),
    path("billing/invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="detail"),
    path("billing/invoices/<int:pk>/pdf", views.InvoicePdfView.as_view(), name="pdf"),
    path("billing/invoices/<int:pk>/send", views.InvoiceSendView.as_view(), name="send"),
    path("billing/invoices/<int:pk>/void", views.InvoiceVoidView.as_view(), name="void"),
    path("billing/invoices/<int:pk>/uncollectible", views.InvoiceUncollectibleView.as_view(), name="mark-uncollectible"),
    path("billing/invoice-new/", views.InvoiceCreateView.as_view(), name="create"),
    path("billing/credit-notes/", views.CreditNoteListView.as_view(), name="credit-note-list"),
    path("billing/credit-notes/<int:pk>/", views.CreditNoteDetailView.as_view(), name="credit-note-detail"),
    path("billing/credit-notes/<int:pk>/pdf", views.CreditNotePdfView.as_view(), name="credit-note-pdf"),
    path("billing/credit-notes/<int:pk>/approve", views.CreditNoteApproveView.as_view(), name="credit-note-approve"),
    path("billing/credit-notes/<int:pk>/void", views.CreditNoteVoidView.as_view(), name="credit-note-void"),
    path("billing/credit-note-new/", views.CreditNoteCreateView.as_view(), name="credit-note-create"),
]
