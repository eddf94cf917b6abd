"""Payments writes. Split by concern; import from here (``from payments.services import charge_invoice``)."""
from payments.services.charging import (  # noqa: F401
    GATEWAY_ERROR_CODES,
    ChargeOutcome,
    auto_charge_candidates,
    charge_invoice,
    run_auto_charge,
)
from payments.services.config import (  # noqa: F401
    build_gateway,
    callback_url,
    masked_config,
    payment_config_test_connection,
    payment_config_update,
    webhook_url,
)
from payments.services.core import (  # noqa: F401
    OVERPAYMENT_CREDIT,
    decline_code,
    payment_apply,
    payment_mark_failed,
    payment_method_create,
    payment_method_save_from_authorization,
    payment_method_set_default,
    payment_record_manual,
)
from payments.services.refunds import (  # noqa: F401
    refund_apply_gateway_status,
    refund_create,
    refund_execute,
    refundable_left,
    refunds_for_credit_note,
)
from payments.services.webhooks import (  # noqa: F401
    webhook_dedupe_key,
    webhook_drain,
    webhook_process,
    webhook_receive,
    webhook_resolve,
)
