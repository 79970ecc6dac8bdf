"""The emulator's state and rules, behind one lock; the HTTP layer only translates (moto's split)."""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from airflow_provider_instagram.emulator import errors
from airflow_provider_instagram.emulator.account_insights import account_insights
from airflow_provider_instagram.emulator.config import (
    CODE_LIFETIME_SECONDS,
    DAY,
    LONG_LIVED_SECONDS,
    MIN_REFRESH_AGE_SECONDS,
    SHORT_LIVED_SECONDS,
    EmulatorConfig,
)
from airflow_provider_instagram.emulator.errors import GraphError, OAuthError
from airflow_provider_instagram.emulator.faults import FaultPlan
from airflow_provider_instagram.emulator.insights import InsightsQuery, media_insights, require_insights_scope
from airflow_provider_instagram.emulator.model import Account, App, AuthCode, Media, Token
from airflow_provider_instagram.emulator.seed import seed_accounts

BASIC_DISPLAY_SCOPES = frozenset({"user_profile", "user_media"})
INSTAGRAM_LOGIN_SCOPES = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_messages",
        "instagram_business_manage_comments",
        "instagram_business_manage_insights",
    }
)


class AuthorizeError(Exception):
    """The authorization window cannot redirect (bad client_id, redirect_uri or scope): an HTML error page."""


class EmulatorBackend:
    """All emulator state. Thread-safe; every public method takes the lock."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._lock = threading.RLock()
        self.config = config or EmulatorConfig()
        self.reset(self.config)

    # ----------------------------------------------------------------- state
    def reset(self, config: EmulatorConfig | None = None) -> None:
        with self._lock:
            self.config = config or self.config
            self._offset = 0.0 if self.config.clock is None else self.config.clock - time.time()
            self._rng = random.Random(self.config.seed)
            start = self.now()
            anchor = self.config.anchor if self.config.anchor is not None else int(start // 3600 * 3600)
            secret = self.config.client_secret or hashlib.sha256(f"secret-{self.config.seed}".encode()).hexdigest()[:32]
            self.app = App(self.config.client_id, secret, list(self.config.redirect_uris))
            self.accounts: dict[str, Account] = {a.id: a for a in seed_accounts(self.config, anchor)}
            self._media: dict[str, Media] = {}
            self._positions: dict[str, dict[str, int]] = {}
            self._neg_stamps: dict[str, list[int]] = {}
            for account in self.accounts.values():
                self._index_account(account)
            self.tokens: dict[str, Token] = {}
            self.codes: dict[str, AuthCode] = {}
            self._calls: dict[tuple[str, str], deque[float]] = {}
            self.call_counts: dict[str, int] = {}
            self.seed_tokens: dict[str, str] = {}
            issued = self.now() - self.config.token_age
            for account in self.accounts.values():
                token = self._new_token("long", account.id, self._scopes_all(), issued)
                self.seed_tokens[account.id] = token.value
            self.cdn_key = hashlib.sha256(f"cdn-{self.config.seed}".encode()).digest()
            self.faults = FaultPlan(self.config.faults, self.config.seed)

    def _index_account(self, account: Account) -> None:
        visible = account.media
        self._positions[account.id] = {m.id: i for i, m in enumerate(visible)}
        self._neg_stamps[account.id] = [-m.timestamp for m in visible]
        for item in visible:
            self._media[item.id] = item
            for child in item.children:
                self._media[child.id] = child
        for story in account.stories:
            self._media[story.id] = story

    def _scopes_all(self) -> tuple[str, ...]:
        if self.config.api == "basic_display":
            return ("user_profile", "user_media")
        return ("instagram_business_basic", "instagram_business_manage_insights")

    # ----------------------------------------------------------------- clock
    def now(self) -> float:
        return time.time() + self._offset

    def advance_clock(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
            return self.now()

    def set_clock(self, epoch: float) -> float:
        with self._lock:
            self._offset = epoch - time.time()
            return self.now()

    # ----------------------------------------------------------------- tokens
    def _token_value(self) -> str:
        prefix = "IGQVJ" if self.config.api == "basic_display" else "IGAA"
        return prefix + "".join(
            self._rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(150)
        )

    def _new_token(self, kind: str, user_id: str, scopes: tuple[str, ...], issued: float) -> Token:
        life = SHORT_LIVED_SECONDS if kind == "short" else LONG_LIVED_SECONDS
        token = Token(self._token_value(), kind, user_id, self.app.client_id, scopes, issued, issued + life)  # type: ignore[arg-type]
        self.tokens[token.value] = token
        return token

    def authenticate(self, value: str | None) -> Token:
        """The token behind ``value``, or the 190 error Instagram gives for it."""
        with self._lock:
            if not value:
                raise errors.missing_token()
            token = self.tokens.get(value)
            if token is None:
                raise errors.invalid_token()
            if token.state == "invalidated":
                raise GraphError(
                    190,
                    "Error validating access token: The session has been invalidated because the user changed "
                    "their password or Facebook has changed the session for security reasons.",
                    subcode=460,
                )
            if token.state == "revoked":
                raise GraphError(
                    190, f"Error validating access token: The user has not authorized application {token.client_id}.",
                    subcode=458,
                )  # fmt: skip
            now = self.now()
            if now >= token.expires_at:
                raise GraphError(
                    190,
                    "Error validating access token: Session has expired on "
                    f"{_fb_time(token.expires_at)}. The current time is {_fb_time(now)}.",
                    subcode=463 if self.config.expired_subcode else None,
                )
            return token

    def invalidate(self, user_id: str, reason: str) -> int:
        """Mark every token of ``user_id`` invalidated (``password_changed``) or ``revoked``, or expire them."""
        with self._lock:
            if reason not in ("password_changed", "revoked", "expired"):
                raise ValueError("reason must be password_changed, revoked or expired")
            count = 0
            for token in self.tokens.values():
                if token.user_id == user_id:
                    count += 1
                    if reason == "expired":
                        token.expires_at = min(token.expires_at, self.now() - 1)
                    else:
                        token.state = "invalidated" if reason == "password_changed" else "revoked"
            return count

    def edit_media(self, media_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a media's counts or caption (``like_count``, ``comments_count``, ``caption``), or delete it
        (``{"deleted": true}``) as its owner would on Instagram; returns what it now holds. ``id`` gives it another
        id (any string: tests use it to hand out ids a client must refuse)."""
        editable = {"like_count", "comments_count", "caption"}
        with self._lock:
            item = self._media.get(media_id)
            if item is None:
                raise LookupError(f"no media {media_id!r}")
            unknown = set(changes) - editable - {"deleted", "id"}
            if unknown:
                raise ValueError(f"cannot change {sorted(unknown)}; change {sorted(editable)}, id, or set deleted")
            if "id" in changes:
                self._rename_media(item, str(changes["id"]))
            if changes.get("deleted"):
                account = self.accounts[item.owner_id]
                account.media = [m for m in account.media if m is not item]
                account.stories = [m for m in account.stories if m is not item]
                for gone in (item, *item.children):
                    self._media.pop(gone.id, None)
                self._index_account(account)
                return {"id": item.id, "deleted": True}
            for name in editable & set(changes):
                setattr(item, name, changes[name])
            return {"id": item.id, **{name: getattr(item, name) for name in sorted(editable)}}

    def _rename_media(self, item: Media, new_id: str) -> None:
        if not new_id or (new_id != item.id and new_id in self._media):
            raise ValueError(f"media id {new_id!r} is empty or taken")
        del self._media[item.id]
        item.id = new_id
        for child in item.children:
            child.parent_id = new_id
        self._media[new_id] = item
        self._index_account(self.accounts[item.owner_id])  # positions (and so cursors) are keyed by id

    # ----------------------------------------------------------------- OAuth
    def validate_authorize(self, params: dict[str, str]) -> tuple[str, tuple[str, ...]]:
        """Check an authorization-window request; return (redirect_uri, scopes) or raise AuthorizeError."""
        client_id = params.get("client_id") or params.get("app_id") or ""
        if client_id != self.app.client_id:
            raise AuthorizeError("Invalid platform app")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.app.redirect_uris:
            raise AuthorizeError("Invalid redirect_uri: it does not match a registered OAuth redirect URI")
        if params.get("response_type") != "code":
            raise AuthorizeError("Invalid response_type: it must be code")
        raw = params.get("scope", "").replace(",", " ").split()
        allowed = BASIC_DISPLAY_SCOPES if self.config.api == "basic_display" else INSTAGRAM_LOGIN_SCOPES
        required = "user_profile" if self.config.api == "basic_display" else "instagram_business_basic"
        bad = [s for s in raw if s not in allowed]
        if bad or required not in raw:
            raise AuthorizeError(f"Invalid Scopes: {', '.join(bad) or '(missing ' + required + ')'}")
        return redirect_uri, tuple(raw)

    def identities_of(self, token_value: str | None) -> set[str]:
        """The ids and username of the account a token belongs to (empty for no or an unknown token)."""
        with self._lock:
            token = self.tokens.get(token_value or "")
            account = self.accounts.get(token.user_id) if token else None
            return {account.id, account.ig_user_id, account.username} if account else set()

    def find_account(self, who: str | None) -> Account:
        with self._lock:
            if not self.accounts:
                raise LookupError("the emulator has no accounts")
            if not who:
                return next(iter(self.accounts.values()))
            for account in self.accounts.values():
                if who in (account.id, account.username, account.ig_user_id):
                    return account
            raise LookupError(f"no account {who!r}")

    def issue_code(self, redirect_uri: str, user_id: str, scopes: tuple[str, ...]) -> str:
        with self._lock:
            code = "AQ" + secrets.token_urlsafe(96)
            self.codes[code] = AuthCode(code, self.app.client_id, redirect_uri, user_id, scopes, self.now())
            return code

    def exchange_code(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if form.get("client_id") != self.app.client_id:
                raise OAuthError("Invalid platform app")
            if form.get("client_secret") != self.app.client_secret:
                raise OAuthError("Invalid Client Secret")
            if form.get("grant_type") != "authorization_code":
                raise OAuthError("Invalid grant_type: it must be authorization_code")
            code = self.codes.get(form.get("code", ""))
            if code is None or code.used or self.now() - code.issued_at > CODE_LIFETIME_SECONDS:
                raise OAuthError("Matching code was not found or was already used")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError("Error validating verification code. Please make sure your redirect_uri is identical")
            code.used = True
            token = self._new_token("short", code.user_id, code.scopes, self.now())
            if self.config.api == "basic_display":
                return {"access_token": token.value, "user_id": int(code.user_id)}
            entry = {
                "access_token": token.value,
                "user_id": code.user_id,
                "permissions": ",".join(code.scopes),
            }
            return entry if self.config.flat_token_response else {"data": [entry]}

    def exchange_short_lived(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if params.get("grant_type") != "ig_exchange_token":
                raise errors.invalid_parameter("grant_type must be ig_exchange_token")
            if not params.get("client_secret"):
                raise errors.invalid_parameter("The parameter client_secret is required")
            token = self.authenticate(params.get("access_token"))
            if params["client_secret"] != self.app.client_secret:
                raise GraphError(101, "Error validating client secret.")
            if token.kind != "short":
                raise errors.invalid_parameter("access_token must be a short-lived token")
            long_token = self._new_token("long", token.user_id, token.scopes, self.now())
            return {
                "access_token": long_token.value,
                "token_type": "bearer",
                "expires_in": LONG_LIVED_SECONDS,
            }

    def refresh(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if params.get("grant_type") != "ig_refresh_token":
                raise errors.invalid_parameter("grant_type must be ig_refresh_token")
            token = self.authenticate(params.get("access_token"))
            if token.kind != "long":
                raise GraphError(
                    190, "Error validating access token: short-lived tokens cannot be refreshed.", subcode=467
                )
            now = self.now()
            if now - token.issued_at < MIN_REFRESH_AGE_SECONDS:
                detail = "The access token must be at least 24 hours old to be refreshed"
                if self.config.young_refresh_error_code == 190:
                    raise GraphError(190, f"Error validating access token: {detail}.")
                raise errors.invalid_parameter(detail)
            if self.config.refresh_rotates_token:
                # The old string stays valid until its own expiry, as Instagram's refresh only extends validity.
                fresh = self._new_token("long", token.user_id, token.scopes, now)
                value = fresh.value
            else:
                token.issued_at, token.expires_at = now, now + LONG_LIVED_SECONDS
                value = token.value
            return {"access_token": value, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    # ----------------------------------------------------------------- rate limits
    def record_call(self, token: Token) -> dict[str, str]:
        """Count one call for the app+user pair; return usage headers or raise the rate-limit error."""
        with self._lock:
            budget = self.config.rate_limit_budget
            now = self.now()
            window = self.config.window_seconds
            calls = self._calls.setdefault((token.client_id, token.user_id), deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            throttled = budget is not None and len(calls) >= budget
            if not throttled:
                calls.append(now)
            if budget is None:
                return {}
            percent = min(100, len(calls) * 100 // max(budget, 1))
            regain = math.ceil((calls[0] + window - now) / 60) if throttled and calls else 0
            headers = self._usage_headers(token, percent, regain)
            if throttled:
                raise self._rate_limit_error(headers)
            return headers

    def _usage_headers(self, token: Token, percent: int, regain_minutes: int) -> dict[str, str]:
        if percent < self.config.usage_header_min_percent:
            return {}
        cpu = percent // 2
        if self.config.api == "basic_display":
            value = {"call_count": percent, "total_time": cpu, "total_cputime": cpu}
            return {"X-App-Usage": json.dumps(value, separators=(",", ":"))}
        account = self.accounts.get(token.user_id)
        key = account.ig_user_id if account else token.user_id
        usage = [{
            "type": "instagram", "call_count": percent, "total_cputime": cpu, "total_time": cpu,
            "estimated_time_to_regain_access": regain_minutes,
        }]  # fmt: skip
        return {"X-Business-Use-Case-Usage": json.dumps({key: usage}, separators=(",", ":"))}

    def _rate_limit_error(self, headers: dict[str, str]) -> GraphError:
        status = self.config.rate_limit_http_status
        code = self.config.rate_limit_error_code
        if code is None:
            code = 17 if self.config.api == "basic_display" else 80002
        if code in (4, 17, 32, 613):
            text = {4: "Application", 17: "User", 32: "Page", 613: "Calls to this api have exceeded the"}[code]
            return GraphError(code, f"(#{code}) {text} request limit reached", status=status, headers=headers)
        return GraphError(
            code,
            "There have been too many calls to this Instagram account. Wait a bit and try again. For more info, "
            "please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            status=status,
            headers=headers,
        )

    # ----------------------------------------------------------------- data
    def count(self, endpoint: str) -> None:
        with self._lock:
            self.call_counts[endpoint] = self.call_counts.get(endpoint, 0) + 1

    def account_for(self, token: Token, node_id: str) -> Account:
        account = self.accounts.get(token.user_id)
        if account is None or node_id not in ("me", account.id):
            raise errors.unknown_object(node_id)
        return account

    def media_for(self, token: Token, media_id: str) -> Media:
        item = self._media.get(media_id)
        if item is None or item.owner_id != token.user_id:
            raise errors.unknown_object(media_id)
        return item

    def media_page(
        self, account: Account, *, limit: int, since: int | None, until: int | None,
        after: str | None, before: str | None,
    ) -> tuple[list[Media], int, int, int]:  # fmt: skip
        """The page's items plus (start, lo, hi): its offset and the window's bounds in the edge.

        Media seeded with a timestamp after the emulator's clock are not posted yet: the edge lists them once the
        clock passes it (a history seeded ahead of the clock grows day by day as the clock advances)."""
        with self._lock:
            cap = self.config.media_edge_cap
            neg = self._neg_stamps[account.id]
            posted = bisect.bisect_left(neg, -self.now())  # newest first: the media after the clock lead
            visible = len(neg) if cap is None else min(posted + cap, len(neg))
            lo = posted if until is None else bisect.bisect_left(neg, -until, posted, visible)
            hi = visible if since is None else bisect.bisect_right(neg, -since, posted, visible)
            positions = self._positions[account.id]
            if (after is not None and after not in positions) or (before is not None and before not in positions):
                raise errors.invalid_parameter("Invalid cursor")
            if after is not None:
                start = positions[after] + 1
            elif before is not None:
                start = max(lo, positions[before] - limit)
            else:
                start = lo
            start = max(start, lo)
            end = min(hi, start + limit) if before is None else min(hi, positions[before])
            return account.media[start:end], start, lo, hi

    def children(self, item: Media) -> Iterable[Media]:
        return list(item.children)

    def stories(self, token: Token, node_id: str) -> list[Media]:
        """``/<user>/stories``: the account's stories of the last 24 h by the clock, newest first (one page)."""
        with self._lock:
            if self.config.api == "basic_display" or not self.config.serve_stories_edge:
                raise errors.invalid_parameter("Tried accessing nonexisting field (stories)")
            account = self.account_for(token, node_id)
            now = self.now()
            return [s for s in account.stories if 0 <= now - s.timestamp < DAY][:100]

    def insights(self, token: Token, node_id: str, query: InsightsQuery) -> dict[str, Any]:
        """``/<media-id or user>/insights``: the answer, or the ``GraphError`` Instagram gives."""
        with self._lock:
            if self.config.api == "basic_display":
                raise errors.invalid_parameter("Tried accessing nonexisting field (insights)")
            require_insights_scope(token, self.config)
            config = self.config
            if (
                config.retired_metrics
                and self.call_counts.get("media_insights", 0) <= config.retire_after_insights_calls
            ):
                config = config.replace(retired_metrics=[])  # not yet: a retirement in the middle of a run
            if node_id == "me" or node_id in self.accounts:
                return account_insights(config, self.account_for(token, node_id), query, self.now())
            return media_insights(config, self.media_for(token, node_id), query, self.now())

    def edit_account(self, account_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an account's ``followers_count`` or ``follows_count`` (a small account has no demographics)."""
        editable = {"followers_count", "follows_count"}
        with self._lock:
            account = self.find_account(account_id)
            unknown = set(changes) - editable
            if unknown:
                raise ValueError(f"cannot change {sorted(unknown)}; change {sorted(editable)}")
            for name in editable & set(changes):
                value = changes[name]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} must be an integer of zero or more, not {value!r}")
                setattr(account, name, value)
            return {"id": account.id, **{name: getattr(account, name) for name in sorted(editable)}}

    def cdn_file(self, kind: str, media_id: str) -> tuple[str, Media | Account] | None:
        with self._lock:
            if kind == "profile":
                account = self.accounts.get(media_id)
                return ("image/jpeg", account) if account else None
            item = self._media.get(media_id)
            if item is None:
                return None
            video = kind == "media" and item.media_type == "VIDEO"
            return ("video/mp4" if video else "image/jpeg", item)

    # ----------------------------------------------------------------- reporting
    def state(self) -> dict[str, Any]:
        with self._lock:
            now = self.now()
            return {
                "clock": now,
                "config": self.config.to_dict(),
                "app": {"client_id": self.app.client_id, "redirect_uris": self.app.redirect_uris},
                "accounts": [
                    {
                        "id": a.id,
                        "user_id": a.id,
                        "professional_account_id": a.ig_user_id,
                        "username": a.username,
                        "media": len(a.media),
                        "stories": len(a.stories),
                        "followers_count": a.followers_count,
                    }
                    for a in self.accounts.values()
                ],
                "tokens": [
                    {
                        "token_sha256": hashlib.sha256(t.value.encode()).hexdigest(),
                        "kind": t.kind,
                        "user_id": t.user_id,
                        "state": t.state,
                        "issued_at": t.issued_at,
                        "expires_at": t.expires_at,
                        "expired": now >= t.expires_at,
                    }
                    for t in self.tokens.values()
                ],
                "calls": dict(self.call_counts),
            }

    def seed_info(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            return {
                "base_url": base_url,
                "graph_url": base_url,
                "oauth_url": base_url,
                "authorize_url": f"{base_url}/oauth/authorize",
                "api": self.config.api,
                "api_version": self.config.default_api_version,
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
                "redirect_uri": self.app.redirect_uris[0] if self.app.redirect_uris else None,
                "accounts": [
                    {
                        "id": a.id,
                        # the account's id in this provider's terms (``/me`` ``id``), and the other one
                        "user_id": a.id,
                        "professional_account_id": a.ig_user_id,
                        "username": a.username,
                        "media": len(a.media),
                        "access_token": self.seed_tokens[a.id],
                    }
                    for a in self.accounts.values()
                ],
            }


def _fb_time(epoch: float) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(epoch))
