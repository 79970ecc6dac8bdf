"""Fault injection: rules that pick requests by endpoint and answer them badly, in order or by chance.

A rule is a dict::

    {"endpoint": "media_edge",            # or "*" for every endpoint but the control API
     "sequence": [{"kind": "http_error", "status": 503}, {"kind": "reset"}],   # next matching requests, in order
     "probability": 0.2, "fault": {"kind": "latency", "ms": 100},              # or: each request, by chance
     "times": 3,                          # optional: stop after this many faults
     "user": "sunset_neon_1"}             # optional: only requests with that account's token (id or username)

Kinds: ``latency`` (``ms``, then answer normally), ``http_error`` (``status``; a Graph code-2 JSON body),
``html`` (``status``; an HTML error page), ``graph_error`` (``code``, ``subcode``, ``status``, ``message``),
``truncated`` (headers promise the whole body, half is sent, the connection drops) and ``reset``
(the connection is reset before any byte is answered).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

KINDS = frozenset({"latency", "http_error", "html", "graph_error", "truncated", "reset"})
ENDPOINTS = frozenset(
    {
        "*", "oauth_authorize", "oauth_access_token", "access_token", "refresh_access_token",
        "me", "node", "media_edge", "children", "cdn", "stories", "media_insights", "account_insights",
    }
)  # fmt: skip


def _validate(rule: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise ValueError("a fault rule must be a JSON object")
    endpoint = rule.get("endpoint", "*")
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(sorted(ENDPOINTS))}")
    faults = list(rule.get("sequence") or []) + ([rule["fault"]] if rule.get("fault") else [])
    if not faults:
        raise ValueError("a fault rule needs 'sequence' (a list of faults) or 'fault' with 'probability'")
    for fault in faults:
        if not isinstance(fault, dict) or fault.get("kind") not in KINDS:
            raise ValueError(f"unknown fault {fault!r}; kinds: {', '.join(sorted(KINDS))}")
    probability = float(rule.get("probability", 1.0))
    if not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be between 0 and 1")
    user = rule.get("user")
    if user is not None and (not isinstance(user, str) or not user):
        raise ValueError("user must be an account's id or username")
    return {
        "endpoint": endpoint,
        "user": user,
        "sequence": list(rule.get("sequence") or []),
        "fault": rule.get("fault"),
        "probability": probability,
        "times": rule.get("times"),
        "fired": 0,
    }


class FaultPlan:
    """The active fault rules; the first live rule that matches a request decides its fault."""

    def __init__(self, rules: list[dict[str, Any]] | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[dict[str, Any]] = [_validate(r) for r in rules or []]

    def add(self, rules: list[dict[str, Any]]) -> None:
        checked = [_validate(r) for r in rules]
        with self._lock:
            self._rules.extend(checked)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._rules]

    def next_fault(self, endpoint: str, who: Callable[[], set[str]] = set) -> dict[str, Any] | None:
        """The fault for the next request to ``endpoint``, if a rule picks it; ``who`` names the request's account
        (its ids and username), asked only when a rule is about one account."""
        with self._lock:
            for rule in self._rules:
                if rule["endpoint"] not in ("*", endpoint):
                    continue
                if rule["user"] is not None and rule["user"] not in who():
                    continue
                if rule["times"] is not None and rule["fired"] >= rule["times"]:
                    continue
                if rule["sequence"]:
                    if rule["fired"] >= len(rule["sequence"]):
                        continue
                    fault: dict[str, Any] = rule["sequence"][rule["fired"]]
                elif self._rng.random() < rule["probability"]:
                    fault = rule["fault"]
                else:
                    continue
                rule["fired"] += 1
                return fault
            return None
