"""Onboarding ``state``: signed, expiring, single-use, bound to the user; and reading redirects."""

from __future__ import annotations

import pytest

from airflow_provider_instagram.exceptions import AuthorizationDeniedError, OnboardingError, OnboardingStateError
from airflow_provider_instagram.onboarding.chain import Redirect
from airflow_provider_instagram.onboarding.state import StateSigner, derive_key


class Ledger:
    """Single use, as the plugin's Variable-backed ledger does it."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def claim(self, nonce: str, expires_at: int) -> bool:
        if nonce in self.used:
            return False
        self.used.add(nonce)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> StateSigner:
    return StateSigner(derive_key("the deployment's secret"), ttl=600, clock=clock)


def test_a_state_verifies_once_for_its_user(signer: StateSigner) -> None:
    ledger = Ledger()
    state = signer.issue("instagram_acme", "instagram_default", "alice")
    claims = signer.verify(state, "alice", ledger)
    assert (claims.conn_id, claims.app_conn_id, claims.user) == ("instagram_acme", "instagram_default", "alice")
    with pytest.raises(OnboardingStateError, match="already used"):
        signer.verify(state, "alice", ledger)


def test_another_user_cannot_finish_the_flow(signer: StateSigner) -> None:
    ledger = Ledger()
    state = signer.issue("instagram_acme", "instagram_default", "alice")
    with pytest.raises(OnboardingStateError, match="another Airflow user"):
        signer.verify(state, "mallory", ledger)
    assert not ledger.used  # a refused state is not burnt: alice can still finish
    assert signer.verify(state, "alice", ledger).conn_id == "instagram_acme"


def test_an_expired_state_is_refused(signer: StateSigner, clock: Clock) -> None:
    state = signer.issue("instagram_acme", "instagram_default", "alice")
    clock.now += 601
    with pytest.raises(OnboardingStateError, match="expired"):
        signer.verify(state, "alice", Ledger())


@pytest.mark.parametrize("forge", [
    lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),  # the signature
    lambda s: s.split(".")[0] + ".e30." + s.split(".")[2],  # another payload
    lambda s: "",
    lambda s: "not-a-state",
])  # fmt: skip
def test_forged_states_are_refused(signer: StateSigner, forge: object) -> None:
    state = signer.issue("instagram_acme", "instagram_default", "alice")
    with pytest.raises(OnboardingStateError, match="not valid"):
        signer.verify(forge(state), "alice", Ledger())  # type: ignore[operator]


def test_a_state_of_another_deployment_is_refused(signer: StateSigner, clock: Clock) -> None:
    other = StateSigner(derive_key("another deployment"), clock=clock)
    with pytest.raises(OnboardingStateError, match="not valid"):
        signer.verify(other.issue("instagram_acme", "instagram_default", "alice"), "alice", Ledger())


def test_redirects_pasted_or_bare() -> None:
    pasted = Redirect.parse("https://x.example/cb?code=AQB123&state=s1#_")
    assert (pasted.code, pasted.state) == ("AQB123", "s1")
    assert Redirect.parse("  AQB123#_ ").require_code() == "AQB123"
    denied = Redirect.parse("https://x.example/cb?error=access_denied&error_reason=user_denied"
                            "&error_description=The+user+denied+your+request")  # fmt: skip
    with pytest.raises(AuthorizationDeniedError, match="The user denied your request"):
        denied.require_code()
    with pytest.raises(OnboardingError, match="no code"):
        Redirect.parse("https://x.example/cb?state=s1").require_code()
    assert "AQB123" not in repr(pasted)


def test_form_tokens_are_the_users_own_and_expire(signer: StateSigner, clock: Clock) -> None:
    token = signer.form_token("alice")
    signer.check_form_token(token, "alice")
    with pytest.raises(OnboardingStateError, match="another user"):
        signer.check_form_token(token, "mallory")
    with pytest.raises(OnboardingStateError, match="not served"):  # a state is not a form token
        signer.check_form_token(signer.issue("instagram_acme", "instagram_default", "alice"), "alice")
    clock.now += 3601
    with pytest.raises(OnboardingStateError, match="expired"):
        signer.check_form_token(token, "alice")
