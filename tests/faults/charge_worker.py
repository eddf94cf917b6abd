"""``python -m tests.faults.charge_worker <invoice id>``: a worker that charges one invoice (and is killed)."""
import sys

import django

django.setup()

from billing_ops.actors import system  # noqa: E402
from invoicing.models import Invoice  # noqa: E402
from payments.services import charge_invoice  # noqa: E402

print("ready", flush=True)
outcome = charge_invoice(actor=system("doomed-worker"), invoice=Invoice.objects.get(pk=int(sys.argv[1])))
print("finished", outcome.status, outcome.reason, flush=True)  # never reached: killed before
