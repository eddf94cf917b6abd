from cryptography.fernet import Fernet

from billing_ops import crypto


def test_encrypt_round_trip_and_no_plaintext():
    token = crypto.encrypt("sk_live_abcdef1234")
    assert "abcdef" not in token and crypto.decrypt(token) == "sk_live_abcdef1234"


def test_key_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "secret"


def test_mask_secret():
    assert crypto.mask_secret("sk_live_0123456789abcd1234") == "sk_live_••••••••1234"
    assert crypto.mask_secret("pk_test_0123456789abcd9876") == "pk_test_••••••••9876"
    assert crypto.mask_secret("short") == "••••••••"
    assert crypto.mask_secret("") == ""


def test_rotate_field_encryption_command_reencrypts_stored_secrets(db, settings):
    from django.core.management import call_command

    from tests.factories import TenantFactory

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    tenant = TenantFactory(deployment_webhook_secret="whsec-123")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_field_encryption")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    tenant.refresh_from_db()
    assert tenant.deployment_webhook_secret == "whsec-123"
