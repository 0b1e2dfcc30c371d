"""Domain errors. Services raise these; the one error mapper turns them into pages or JSON."""
from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is the machine-readable error code of the API contract."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    status = 400
    code = "invalid"


class NotAuthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class AccountPending(PermissionDenied):
    """The password is right, but an administrator has not let the person in yet."""

    code = "account_pending"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unavailable(DomainError):
    """A part the request needs (the file store) cannot be reached now; trying later may work."""

    status = 503
    code = "unavailable"
