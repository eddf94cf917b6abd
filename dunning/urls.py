from django.urls import path

from dunning import views

app_name = "dunning"

urlpatterns = [
    path("billing/dunning/", views.CaseQueueView.as_view(), name="queue"),
    path("billing/dunning/bulk-remind/", views.BulkRemindView.as_view(), name="bulk-remind"),
    path("billing/dunning/policy/", views.PolicyView.as_view(), name="policy"),
    path("billing/dunning/templates/", views.TemplateListView.as_view(), name="templates"),
    path("billing/dunning/templates/<str:kind>/", views.TemplateEditView.as_view(), name="template-edit"),
    path("billing/dunning/outbox/<uuid:pk>/resend/", views.OutboxResendView.as_view(), name="outbox-resend"),
    path("billing/dunning/tenant/<int:pk>/notifications/", views.TenantPreferenceView.as_view(), name="tenant-preferences"),
    path("billing/dunning/<int:pk>/", views.CaseDetailView.as_view(), name="detail"),
    path("billing/dunning/<int:pk>/remind/", views.CaseRemindView.as_view(), name="remind"),
    path("billing/dunning/<int:pk>/suspend/", views.CaseSuspendView.as_view(), name="suspend"),
    path("billing/dunning/<int:pk>/write-off/", views.CaseWriteOffView.as_view(), name="write-off"),
]
