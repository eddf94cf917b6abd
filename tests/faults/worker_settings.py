"""Settings of the throw-away worker process that test_charge_faults kills mid-charge: the project's
settings with a short attempt lease, so the next run may verify the orphaned attempt at once."""
from billing_ops.settings import *  # noqa: F403

PAYMENTS_CHARGE_LEASE_SECONDS = 1
