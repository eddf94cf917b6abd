"""JSON API: GET /api/dunning/, remind (409 when closed), suspend (reason required), policy GET/PUT."""
import pytest

from dunning.models import DunningCase
from invoicing.services import invoice_record_payment
from tests.conftest import api_client_for
from tests.dunning.factories import open_case

pytestmark = pytest.mark.django_db


def test_list_has_the_contract_fields_and_filters(api):
    case = open_case()
    body = api.get("/api/dunning/").json()
    item = body["results"][0]
    assert {"id", "status", "step", "tenant", "invoice", "amount_due", "currency", "next_action_at"} <= set(item)
    assert item["amount_due"] == "100.00" and item["status"] == "open" and item["step"] == 1 and body["next"] is None
    assert api.get("/api/dunning/?status=recovered").json()["results"] == []
    assert len(api.get("/api/dunning/?status=active").json()["results"]) == 1
    assert [r["id"] for r in api.get(f"/api/dunning/?tenant={case.tenant_id}").json()["results"]] == [case.pk]


def test_detail_shows_records_and_planned_timeline(api):
    case = open_case()
    body = api.get(f"/api/dunning/{case.pk}/").json()
    assert [r["kind"] for r in body["records"]] == ["opened", "reminder"]
    assert [e["kind"] for e in body["planned"]].count("retry") == 5


def test_remind_then_409_once_closed(api, billing_user):
    case = open_case()
    response = api.post(f"/api/dunning/{case.pk}/remind")
    assert response.status_code == 200 and response.json()["step"] == 2
    invoice_record_payment(actor=billing_user, invoice=case.invoice, amount="100.00")
    assert api.get("/api/dunning/").json()["results"][0]["status"] == "recovered"  # the API lists closed cases too
    response = api.post(f"/api/dunning/{case.pk}/remind")
    assert response.status_code == 409 and response.json()["error"]["code"] == "case_closed"


def test_suspend_requires_reason_and_shows_in_tenant_api(api):
    case = open_case()
    response = api.post(f"/api/dunning/{case.pk}/suspend", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    response = api.post(f"/api/dunning/{case.pk}/suspend", {"reason": "Retries exhausted"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    assert api.get(f"/api/tenants/{case.tenant_id}/").json()["status"] == "suspended"
    assert api.post(f"/api/dunning/{case.pk}/suspend", {"reason": "again"}, format="json").status_code == 409


def test_onboarding_may_read_but_not_remind(onboarding_user):
    case = open_case()
    client = api_client_for(onboarding_user)
    assert client.post(f"/api/dunning/{case.pk}/remind").status_code in (403, 404)
    assert DunningCase.objects.get().step == 1


def test_policy_get_and_put(api):
    body = api.get("/api/dunning/policy").json()
    assert body["max_retries"] == 5 and body["retry_interval_days"] == [1, 2, 3, 5, 7] and body["grace_period_days"] == 30
    assert body["suspend_after_retries"] is True and body["auto_retry_enabled"] is True
    assert [s["key"] for s in body["ladder"]] == ["payment_failed", "action_required", "final_warning", "suspended"]
    body["max_retries"] = 3
    response = api.put("/api/dunning/policy", body, format="json")
    assert response.status_code == 400 and "retry_interval_days" in response.json()["error"]["fields"]
    body["retry_interval_days"] = [2, 2, 2]
    response = api.put("/api/dunning/policy", body, format="json")
    assert response.status_code == 200 and response.json()["retry_interval_days"] == [2, 2, 2]
    assert api.get("/api/dunning/policy").json()["max_retries"] == 3
