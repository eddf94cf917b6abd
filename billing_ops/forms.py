"""Turning a service's ApplicationError into form errors, so screens show what the API would say."""
from billing_ops.errors import ApplicationError


def apply_application_error(form, exc: ApplicationError) -> None:
    for field, problems in (exc.fields or {}).items():
        if field in form.fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(field, str(problem))
    form.add_error(None, exc.message)
