"""The provider's errors: one small hierarchy, split by what the caller should do next."""

from __future__ import annotations

from typing import Any

AUTH_REASONS = {
    458: "the user removed the app (access revoked)",
    459: "the account is checkpointed: the user must log in to Instagram",
    460: "the password was changed or Meta invalidated the session",
    463: "the token expired",
    464: "the user is unconfirmed",
    467: "the token is invalid",
    492: "the session is invalid",
}


class InstagramError(Exception):
    """Base of every Instagram error; carries what Instagram said, never a token or a query string.

    :param message: human-readable text (Instagram's message plus context).
    :param status: HTTP status, when there was an answer.
    :param code: Graph error code (or 400 for the old OAuth format).
    :param subcode: Graph ``error_subcode``.
    :param fbtrace_id: Meta's trace id, for support requests.
    :param endpoint: method and path of the request, without the query string.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.endpoint = endpoint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        codes = ", ".join(f"{k} {v}" for k, v in (("code", self.code), ("subcode", self.subcode)) if v is not None)
        if codes:
            parts.append(f"({codes})")
        if self.endpoint:
            parts.append(f"on {self.endpoint}")
        if self.fbtrace_id:
            parts.append(f"[fbtrace_id {self.fbtrace_id}]")
        return " ".join(parts)

    def details(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "subcode": self.subcode, "fbtrace_id": self.fbtrace_id}


class InstagramConfigError(InstagramError, ValueError):
    """A connection is missing a field or has a malformed one; the message names both and the fix."""


class InstagramAuthError(InstagramError):
    """The token was refused (code 190/102 or an OAuth error): the account needs re-authorisation.

    :param reason: why, in words (expired, password changed, revoked...).
    """

    def __init__(self, message: str, *, reason: str = "the token was refused", **kwargs: Any) -> None:
        self.reason = reason
        super().__init__(message, **kwargs)


class InstagramRateLimitError(InstagramError):
    """A rate limit (codes 4, 17, 32, 613, 80001, 80002, or HTTP 429) longer than the hook may wait.

    :param retry_after: seconds until Instagram expects to accept calls again.
    """

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class InstagramTransientError(InstagramError):
    """Codes 1/2, HTTP 5xx, timeouts, resets, broken or non-JSON bodies: retries ran out."""


class InstagramRequestError(InstagramError):
    """Any other client error, such as code 100 (unknown field or id): fix the request, do not retry."""


class InstagramPermissionError(InstagramRequestError):
    """The token lacks a permission the call needs (code 10 or 200): the account must be connected again, granting it.

    :param permission: the missing permission (``instagram_business_manage_insights``).
    """

    def __init__(self, message: str, *, permission: str, **kwargs: Any) -> None:
        self.permission = permission
        super().__init__(message, **kwargs)


class InstagramMetricError(InstagramRequestError):
    """Code 100 about the metrics asked for: retired, unsupported for the media's product type, incompatible with
    the media, or a breakdown the metric does not have. One such metric fails the whole request.

    :param metrics: the metrics the answer names (empty when it names none).
    """

    def __init__(self, message: str, *, metrics: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.metrics = metrics
        super().__init__(message, **kwargs)


class InstagramNoInsightsError(InstagramRequestError):
    """The media has no insights for a reason Instagram states (posted before the business conversion, subcode
    2108006; a story with too few viewers, code 10): no value, with that reason, never a 0.

    :param reason: one of ``insights.answers.REASONS``.
    """

    def __init__(self, message: str, *, reason: str, **kwargs: Any) -> None:
        self.reason = reason
        super().__init__(message, **kwargs)


class InstagramObjectNotFoundError(InstagramRequestError):
    """Code 100, subcode 33: the object (a media deleted on Instagram) does not exist or cannot be read."""


class SnapshotDayPastError(InstagramError):
    """An insights run for a past day whose snapshot exists: values read now would replace what was read then."""


class InvalidIdError(InstagramError, ValueError):
    """An id (from Instagram's answer or from a caller) is not a plain Instagram id; it never reaches a path."""


class TokenStoreError(InstagramError):
    """Reading or writing an account's token in its store (the Airflow REST API by default) failed."""


class TokenNotWritableError(TokenStoreError):
    """The connection lives where the store cannot write (an environment variable, a secrets backend)."""


class AccountRevokedError(InstagramError):
    """The account was revoked, or its data's deletion requested, while its data was being exported or loaded."""


class ConnectionConflictError(TokenStoreError):
    """The connection cannot hold this account: it is of another type, or it is an Instagram app's connection."""


class InstagramMediaUrlExpiredError(InstagramRequestError):
    """The CDN refused a media URL (HTTP 403: signature expired or bad): re-read the media's URLs and retry."""


class ExportNotFoundError(InstagramError):
    """The exported files a load needs are not there (the export of that window has not run or failed)."""


class SignedRequestError(ValueError):
    """A ``signed_request`` from one of Meta's callbacks cannot be trusted; never act on it.

    The message says what was wrong, never the request's text (it may carry a user id).
    """


class MalformedSignedRequestError(SignedRequestError):
    """Not ``<base64url signature>.<base64url JSON object>``."""


class BadSignatureError(SignedRequestError):
    """The HMAC-SHA256 does not match: a forgery, a tampered payload, or the wrong app secret."""


class UnsupportedAlgorithmError(SignedRequestError):
    """The payload's ``algorithm`` is not ``HMAC-SHA256``."""


class OnboardingError(InstagramError):
    """Connecting an account failed before a token was saved; the message says what the user should do."""


class AuthorizationDeniedError(OnboardingError):
    """The user clicked Deny (or Instagram answered ``error=...``) in the authorization window."""


class OnboardingStateError(OnboardingError):
    """The ``state`` that came back is forged, expired, already used, or bound to another user or connection."""


class StaleSignedRequestError(SignedRequestError):
    """The request was issued too long ago to be a live callback (a replay of a captured one)."""
