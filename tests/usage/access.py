"""Access rules for usage billing URLs (issue 8)."""
from billing_ops.access import INGEST_USAGE, READ, WRITE

EXPECTED = {
    "api:usage-events": {"POST": INGEST_USAGE},
    "api:meter-list": {"GET": READ, "POST": WRITE},
    "api:meter-detail": {"GET": READ, "PATCH": WRITE, "PUT": WRITE},
    "api:subscription-usage": {"GET": READ},
    "usage:meter-list": {"GET": READ},
    "usage:meter-create": {"GET": WRITE, "POST": WRITE},
    "usage:meter-edit": {"GET": WRITE, "POST": WRITE},
}


def build(world):
    from accounts.services import tenant_assign_onboarding
    from billing_ops.actors import system
    from tests.factories import SubscriptionFactory, TenantFactory
    from tests.usage.factories import MeterFactory

    tenant = TenantFactory(name="Usage Matrix Tenant")
    tenant_assign_onboarding(tenant=tenant, user=world.users["onboarding"], actor=system("test"))
    world.usage_subscription = SubscriptionFactory(tenant=tenant)
    world.meter = MeterFactory(code="matrix-calls")


SAMPLES = {
    "api:meter-detail": lambda world: {"pk": world.meter.pk},
    "api:subscription-usage": lambda world: {"pk": world.usage_subscription.pk},
    "usage:meter-edit": lambda world: {"pk": world.meter.pk},
}
