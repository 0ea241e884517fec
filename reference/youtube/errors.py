"""What the YouTube client raises: one base class, a ``reason`` on every instance.

``reason`` is a short machine-readable string the pipeline stores on a failed import
(``ImportRequest.reason``): YouTube's own ``errors[].reason`` where it gave one ("quotaExceeded",
"keyInvalid", "backendError"), otherwise the client's name for what happened ("circuitOpen",
"ReadTimeout", "http502"). ``str(exc)`` is the human message.

Which errors are worth another attempt is the client's business (``RateLimitedError`` and
``YouTubeUnavailable`` are); the classes only describe what went wrong.
"""

from __future__ import annotations

from datetime import datetime


class YouTubeError(Exception):
    """Any failure of a YouTube Data API call."""

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        #: Short machine-readable cause, recorded by the pipeline.
        self.reason = reason
        #: The HTTP status YouTube answered with; ``None`` when no response came back.
        self.status = status


class QuotaExceededError(YouTubeError):
    """No quota left: our ledger refused the reservation, or YouTube answered ``quotaExceeded``.

    Never retried: quota comes back at the daily reset, not after a backoff. ``reason`` tells the
    two apart — ``"quotaExceeded"`` from YouTube means our ledger undercounted.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        scope: str | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message, reason=reason, status=status)
        #: Whose budget ran out ("project", "user:<id>") when the ledger said so.
        self.scope = scope
        #: When the budget comes back, when known.
        self.resets_at = resets_at


class RateLimitedError(YouTubeError):
    """YouTube asked us to slow down (429, 403 ``rateLimitExceeded``) through every attempt."""


class YouTubeUnavailable(YouTubeError):
    """YouTube answered 5xx, or the network failed, through every attempt."""


class CircuitOpenError(YouTubeError):
    """The circuit breaker is open: the call failed fast, sending nothing and spending no quota."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message, reason="circuitOpen")
        #: Seconds until the breaker lets a probe through; ``None`` while a probe is in flight.
        self.retry_after = retry_after


class RequestRejected(YouTubeError):
    """A 4xx YouTube will answer the same way again (bad parameter, invalid key...): not retried."""


class NotFound(RequestRejected):
    """404: the named resource does not exist (``playlistNotFound``)."""


class MalformedResponse(YouTubeError):
    """YouTube's 2xx answer was not the JSON shape the Data API documents."""
