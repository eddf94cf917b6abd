from billing_ops.access import MANAGE_SUBSCRIPTION, READ, WRITE

EXPECTED = {
    "api:subscription-list": {"GET": READ, "POST": WRITE},
    "api:subscription-detail": {"GET": READ, "PATCH": WRITE},
    "api:subscription-status": {"POST": WRITE},
    "api:renewal-list": {"GET": READ},
    "api:tenant-subscription-preview": {"POST": MANAGE_SUBSCRIPTION},
    "api:tenant-subscription-items": {"POST": MANAGE_SUBSCRIPTION},
    "api:plan-list": {"GET": READ, "POST": WRITE},
    "api:plan-detail": {"GET": READ},
    "api:coupon-list": {"GET": READ, "POST": WRITE},
}


def build(world):
    from tests.factories import SubscriptionFactory

    # world.tenant (accounts' build) is assigned to the onboarding user; give it a subscription.
    world.subscription = SubscriptionFactory(tenant=world.tenant)


_subscription = lambda world: {"pk": world.subscription.pk}
_tenant = lambda world: {"pk": world.tenant.pk}
_plan = lambda world: {"pk": world.subscription.plan_id}
SAMPLES = {
    "api:subscription-detail": _subscription,
    "api:subscription-status": _subscription,
    "api:tenant-subscription-preview": _tenant,
    "api:tenant-subscription-items": _tenant,
    "api:plan-detail": _plan,
}

EXPECTED.update({
    "subscriptions:list": {"GET": READ},
    "subscriptions:create": {"GET": WRITE, "POST": WRITE},
    "subscriptions:detail": {"GET": READ},
    "subscriptions:edit": {"GET": WRITE, "POST": WRITE},
    "subscriptions:status": {"POST": WRITE},
    "subscriptions:renewals": {"GET": READ},
    "subscriptions:plan-list": {"GET": READ},
    "subscriptions:plan-create": {"GET": WRITE, "POST": WRITE},
    "subscriptions:coupon-list": {"GET": READ},
    "subscriptions:coupon-create": {"GET": WRITE, "POST": WRITE},
    "subscriptions:tenant": {"GET": MANAGE_SUBSCRIPTION, "POST": MANAGE_SUBSCRIPTION},
})
SAMPLES.update({
    "subscriptions:detail": _subscription,
    "subscriptions:edit": _subscription,
    "subscriptions:status": _subscription,
    "subscriptions:tenant": _tenant,
})
