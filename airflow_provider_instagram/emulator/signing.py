"""Meta's ``signed_request``: how the emulator signs the callbacks it sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_signed_request(payload: dict[str, Any], app_secret: str) -> str:
    """``base64url(HMAC-SHA256(encoded payload)) + "." + encoded payload``, without padding, as Meta sends."""
    encoded = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(app_secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{b64url(signature)}.{encoded}"
