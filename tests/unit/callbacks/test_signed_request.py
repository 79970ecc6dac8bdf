"""``parse_signed_request``: Meta's worked example, round trips, and fuzzing of forged and broken input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_instagram.emulator.signing import b64url, make_signed_request
from airflow_provider_instagram.exceptions import (
    BadSignatureError,
    MalformedSignedRequestError,
    SignedRequestError,
    UnsupportedAlgorithmError,
)
from airflow_provider_instagram.signed_request import parse_signed_request

# instagram-api.md section 7: a public test's fixture, its HMAC recomputed.
META_SECRET = "client_secret_shhhhhh!"
META_EXAMPLE = (
    "w5ZbbWP9yOwBA1uJZbc7-9gZok0O42U4i0yyvxXE_jY."
    "eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsImV4cGlyZXMiOjEyOTE4NDA0MDAsImlzc3VlZF9hdCI6MTI5MTgzNjgwMCwidXNlcl9pZCI6IjIxODQ3MSJ9"
)
SECRET = "0123456789abcdef0123456789abcdef"
BASE64URL = string.ascii_letters + string.digits + "-_"

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
payloads = st.dictionaries(st.text(max_size=12).filter(lambda k: k != "algorithm"), json_values, max_size=6).map(
    lambda d: {"algorithm": "HMAC-SHA256", **d}
)


def test_meta_worked_example() -> None:
    assert parse_signed_request(META_EXAMPLE, META_SECRET) == {
        "algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": "218471",
    }  # fmt: skip


def test_padding_is_optional() -> None:
    signature, payload = META_EXAMPLE.split(".")
    padded = f"{signature}=.{payload}"  # 32 bytes of signature: 43 characters and one '='
    assert parse_signed_request(padded, META_SECRET)["user_id"] == "218471"


def test_another_apps_secret_is_a_bad_signature() -> None:
    with pytest.raises(BadSignatureError):
        parse_signed_request(META_EXAMPLE, META_SECRET + "x")


def test_another_algorithm_is_refused_even_when_signed() -> None:
    with pytest.raises(UnsupportedAlgorithmError):
        parse_signed_request(make_signed_request({"algorithm": "HMAC-SHA1", "user_id": "1"}, SECRET), SECRET)
    with pytest.raises(UnsupportedAlgorithmError):
        parse_signed_request(make_signed_request({"user_id": "1"}, SECRET), SECRET)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"not json", b"\xff\xfe"])
def test_a_signed_payload_that_is_not_a_json_object_is_malformed(payload: bytes) -> None:
    encoded = b64url(payload)
    signature = b64url(hmac.new(SECRET.encode(), encoded.encode(), hashlib.sha256).digest())
    with pytest.raises(MalformedSignedRequestError):
        parse_signed_request(f"{signature}.{encoded}", SECRET)


@pytest.mark.parametrize(
    "text",
    ["", ".", "abc", "a.b.c", f"{META_EXAMPLE}.", "+/+/.eyJ9", "w5Zb bWP9.eyJ9", "a" * 20_000 + ".eyJ9"],
)
def test_malformed_input(text: str) -> None:
    with pytest.raises(MalformedSignedRequestError):
        parse_signed_request(text, SECRET)


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        parse_signed_request(META_EXAMPLE, "")


@settings(max_examples=300)
@given(payloads, st.text(alphabet=string.printable, min_size=1, max_size=40))
def test_round_trip(payload: dict[str, Any], secret: str) -> None:
    assert parse_signed_request(make_signed_request(payload, secret), secret) == payload


@settings(max_examples=500)
@given(st.data())
def test_any_change_to_one_character_is_refused(data: st.DataObject) -> None:
    """Tampering with the signature or the payload, anywhere, by any character, never verifies."""
    index = data.draw(st.integers(0, len(META_EXAMPLE) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != META_EXAMPLE[index]))
    tampered = META_EXAMPLE[:index] + replacement + META_EXAMPLE[index + 1 :]
    with pytest.raises(SignedRequestError):
        parse_signed_request(tampered, META_SECRET)


@settings(max_examples=300)
@given(st.text(alphabet=BASE64URL + ".=", max_size=120), st.text(max_size=60))
def test_arbitrary_input_raises_only_the_typed_error(text: str, noise: str) -> None:
    """Whatever arrives, the parser answers with a payload or a SignedRequestError, never another exception."""
    for candidate in (text, noise, text + noise):
        try:
            parse_signed_request(candidate, SECRET)
        except SignedRequestError:
            continue
        pytest.fail(f"unsigned input was accepted: {candidate!r}")


@settings(max_examples=200)
@given(payloads)
def test_a_payload_signed_with_another_secret_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(BadSignatureError):
        parse_signed_request(make_signed_request(payload, "someone else's secret"), SECRET)


def test_errors_never_quote_the_request() -> None:
    signed = make_signed_request({"algorithm": "HMAC-SHA1", "user_id": "17841400000000042"}, SECRET)
    for text, secret in ((signed, SECRET), (signed, "wrong"), (signed + "!", SECRET)):
        with pytest.raises(SignedRequestError) as caught:
            parse_signed_request(text, secret)
        assert "17841400000000042" not in str(caught.value)
        assert signed.split(".")[1][:20] not in str(caught.value)


def test_the_emulator_signs_what_the_parser_reads() -> None:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": 1, "user_id": "42"}
    signed = make_signed_request(payload, SECRET)
    assert json.loads(base64.urlsafe_b64decode(signed.split(".")[1] + "==")) == payload
    assert parse_signed_request(signed, SECRET) == payload
