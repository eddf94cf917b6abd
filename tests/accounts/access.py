from billing_ops.access import READ, VIEW_AUDIT, WRITE

EXPECTED = {
    "accounts:tenant-list": {"GET": READ},
    "accounts:tenant-create": {"GET": WRITE, "POST": WRITE},
    "accounts:tenant-detail": {"GET": READ},
    "accounts:tenant-edit": {"GET": WRITE, "POST": WRITE},
    "accounts:tenant-credit": {"POST": WRITE},
    "accounts:tenant-assign": {"POST": WRITE},
    "accounts:audit-log": {"GET": VIEW_AUDIT},
    "api:tenant-list": {"GET": READ, "POST": WRITE},
    "api:tenant-detail": {"GET": READ, "PATCH": WRITE, "PUT": WRITE},
    "api:tenant-credit": {"POST": WRITE},
}


def build(world):
    from accounts.services import tenant_assign_onboarding
    from billing_ops.actors import system
    from tests.factories import TenantFactory

    world.tenant = TenantFactory(name="Matrix Tenant")
    tenant_assign_onboarding(tenant=world.tenant, user=world.users["onboarding"], actor=system("test"))


_tenant = lambda world: {"pk": world.tenant.pk}
SAMPLES = {
    "accounts:tenant-detail": _tenant,
    "accounts:tenant-edit": _tenant,
    "accounts:tenant-credit": _tenant,
    "accounts:tenant-assign": _tenant,
    "api:tenant-detail": _tenant,
    "api:tenant-credit": _tenant,
}
