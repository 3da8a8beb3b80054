"""The one error the photo pipeline raises on purpose."""

from __future__ import annotations


class MediaError(Exception):
    """A photo this service refuses, with a machine-readable code and an HTTP-like status.

    ``status`` is 413 (too many bytes), 415 (a format outside the allowlist) or 422 (an allowed
    format that is broken, truncated or too large to decode). The Flask side maps it to its
    error shape; the worker records ``code`` as the photo's failure reason.
    """

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class StorageUnavailable(Exception):
    """The photo store cannot be reached, or refuses this service (no such bucket, credentials
    refused, a server error). The operator's problem, not the client's: the request is worth
    repeating later, and nothing was half-stored.

    ``reason`` is ``unreachable``, ``server_error``, ``no_such_bucket`` or ``access_denied``;
    the last two need an operator (``config_error`` is True), the others pass by themselves.
    """

    def __init__(self, message: str, reason: str = "unreachable") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason

    @property
    def config_error(self) -> bool:
        return self.reason in ("no_such_bucket", "access_denied")
