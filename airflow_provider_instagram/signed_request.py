"""Meta's ``signed_request`` (deauthorize and data-deletion callbacks): verify it, then read it.

``signed_request = base64url(HMAC-SHA256(app_secret, encoded_payload)) + "." + encoded_payload``, base64url
without padding. The signature is checked, in constant time, before the payload is even decoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from airflow_provider_instagram.exceptions import (
    BadSignatureError,
    MalformedSignedRequestError,
    UnsupportedAlgorithmError,
)

ALGORITHM = "HMAC-SHA256"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# Far above any real callback (a few hundred bytes): refuse to hash megabytes sent by anyone.
MAX_LENGTH = 16_384


def parse_signed_request(signed_request: str, app_secret: str) -> dict[str, Any]:
    """Verify a ``signed_request`` with the app secret and return its payload.

    :param signed_request: the ``signed_request`` form field Meta POSTs.
    :param app_secret: the Instagram app's secret (the connection's ``client_secret``).
    :return: the payload, e.g. ``{"algorithm": "HMAC-SHA256", "issued_at": ..., "user_id": "218471"}``.
    :raises MalformedSignedRequestError: not two base64url parts, or the payload is not a JSON object.
    :raises BadSignatureError: the signature does not match the payload and the secret.
    :raises UnsupportedAlgorithmError: the payload names another algorithm.
    """
    if not app_secret:
        raise ValueError("parse_signed_request needs the app secret (the connection's client_secret)")
    signature, encoded_payload = check_signed_request_format(signed_request)
    expected = hmac.new(app_secret.encode(), encoded_payload.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadSignatureError("signed_request signature does not match (forged, tampered, or another app's secret)")
    payload = _json_object(_b64url_decode(encoded_payload, "payload"))
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        raise UnsupportedAlgorithmError(f"signed_request algorithm must be {ALGORITHM}")
    return payload


def check_signed_request_format(signed_request: str) -> tuple[bytes, str]:
    """The decoded signature and the still-encoded payload, if ``signed_request`` has the right form (no secret
    needed: callers reject garbage before they look any secret up).

    :raises MalformedSignedRequestError: not two canonical base64url parts, or longer than 16 KiB.
    """
    if not isinstance(signed_request, str) or len(signed_request) > MAX_LENGTH:
        raise MalformedSignedRequestError("signed_request must be a string of at most 16 KiB")
    encoded_signature, dot, encoded_payload = signed_request.partition(".")
    if not dot or "." in encoded_payload:
        raise MalformedSignedRequestError("signed_request must be two base64url parts joined by one '.'")
    signature = _b64url_decode(encoded_signature, "signature")
    _b64url_decode(encoded_payload, "payload")  # its alphabet, before it is hashed
    return signature, encoded_payload


def _b64url_decode(part: str, what: str) -> bytes:
    """base64url with or without padding; any other character is an error (the stdlib would skip it)."""
    unpadded = part.rstrip("=")
    if not _BASE64URL.fullmatch(unpadded) or len(unpadded) % 4 == 1 or len(part) - len(unpadded) > 2:
        raise MalformedSignedRequestError(f"signed_request {what} is not base64url")
    try:
        decoded = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedSignedRequestError(f"signed_request {what} is not base64url") from exc
    # Canonical only: otherwise two texts (differing in the last character's unused bits) carry one signature.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() != unpadded:
        raise MalformedSignedRequestError(f"signed_request {what} is not canonical base64url")
    return decoded


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedSignedRequestError("signed_request payload is not UTF-8 JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedSignedRequestError("signed_request payload is not a JSON object")
    return payload
