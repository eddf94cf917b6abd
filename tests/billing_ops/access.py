from billing_ops.access import PUBLIC, READ

EXPECTED = {
    "home": {"GET": PUBLIC},
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"GET": PUBLIC, "POST": PUBLIC},
    "billing:dashboard": {"GET": READ},
    "api:schema": {"GET": READ},
}
