"""The expected access rules, collected from tests/<app>/access.py.

Each app's module defines
  EXPECTED = {"namespace:url-name": {"GET": capability, "POST": capability, ...}}
  def build(world): ...   # adds the objects its URLs need to the shared world
  SAMPLES = {"namespace:url-name": lambda world: {"pk": world.tenant.pk}}
"""
from importlib import import_module

from billing_ops.urls import DOMAIN_APPS

MODULES = []
for _app in ["billing_ops", *DOMAIN_APPS, "usage", "analytics"]:  # usage/analytics: issue 8
    try:
        MODULES.append(import_module(f"tests.{_app}.access"))
    except ModuleNotFoundError as exc:
        if exc.name not in (f"tests.{_app}", f"tests.{_app}.access"):
            raise

EXPECTED: dict[str, dict[str, str]] = {}
SAMPLES: dict = {}
# PUBLIC URLs that authenticate each request themselves (the Paystack webhook's signature).
SIGNATURE_AUTHENTICATED: set[str] = set()
for _module in MODULES:
    EXPECTED.update(_module.EXPECTED)
    SAMPLES.update(getattr(_module, "SAMPLES", {}))
    SIGNATURE_AUTHENTICATED.update(getattr(_module, "SIGNATURE_AUTHENTICATED", ()))


def build_world(world) -> None:
    for module in MODULES:
        builder = getattr(module, "build", None)
        if builder:
            builder(world)
