import pytest

from dunning.models import DunningCase, RecoveryRecord


@pytest.mark.django_db
def test_seed_demo_has_cases_at_every_step(django_capture_on_commit_callbacks, settings):
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=False):
        call_command("seed_demo")
    statuses = set(DunningCase.objects.values_list("status", flat=True))
    assert {"open", "suspended", "recovered", "written_off"} <= statuses
    steps = set(DunningCase.objects.filter(status__in=["open", "suspended"]).values_list("step", flat=True))
    assert {1, 2, 3, 4} <= steps
    assert RecoveryRecord.objects.filter(kind="retry").count() >= 10
    assert RecoveryRecord.objects.filter(kind="reactivation").exists()
