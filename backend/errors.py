"""One root exception for the backend; the API maps each kind to its HTTP status in one handler."""

from __future__ import annotations


class BackendError(Exception):
    """A request that cannot be done as asked; the message tells the caller what to change."""

    status = 400

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.details = details


class InvalidInput(BackendError):
    status = 422


class NotFound(BackendError):
    status = 404


class Conflict(BackendError):
    """The agreement's or milestone's state does not allow this now."""

    status = 409


class Unauthenticated(BackendError):
    status = 401


class Forbidden(BackendError):
    status = 403


class RateLimited(BackendError):
    status = 429


class ContractRejected(Conflict):
    """The escrow would revert: `details["revert"]` has the custom error's name and arguments."""


class ChainUnavailable(BackendError):
    """The chain's node failed or did not answer: the same request may work in a moment."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)
