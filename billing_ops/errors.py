"""The one application error type. The API handler and the screens both turn it into a message.

Services raise these; views never invent their own error shapes.
"""
from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request. ``code`` is stable and machine-readable."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}


class ValidationFailed(ApplicationError):
    status_code = 400
    default_code = "invalid"


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class TransitionNotAllowed(ApplicationError):
    """The object's current state does not allow the requested move (HTTP 409)."""

    status_code = 409
    default_code = "transition_not_allowed"


class Conflict(ApplicationError):
    status_code = 409
    default_code = "conflict"
