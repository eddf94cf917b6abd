from django.urls import path

from dunning.api import views

urlpatterns = [
    path("dunning/", views.DunningCaseListApi.as_view(), name="dunning-list"),
    path("dunning/policy", views.DunningPolicyApi.as_view(), name="dunning-policy"),
    path("dunning/outbox/<uuid:pk>/resend", views.OutboxResendApi.as_view(), name="dunning-outbox-resend"),
    path("dunning/<int:pk>/", views.DunningCaseDetailApi.as_view(), name="dunning-detail"),
    path("dunning/<int:pk>/remind", views.DunningCaseRemindApi.as_view(), name="dunning-remind"),
    path("dunning/<int:pk>/suspend", views.DunningCaseSuspendApi.as_view(), name="dunning-suspend"),
]
