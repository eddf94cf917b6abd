"""Access rules for the analytics screens (issue 8): onboarding staff read them too."""
from billing_ops.access import READ

EXPECTED = {
    "billing:analytics": {"GET": READ},
    "billing:analytics-csv": {"GET": READ},
}
