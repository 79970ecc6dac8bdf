"""Token lifecycle: what an account's token state is, where it is stored, and how it is kept alive."""

from airflow_provider_instagram.tokens.state import TokenState, TokenStatus, fingerprint

__all__ = ["TokenState", "TokenStatus", "fingerprint"]
