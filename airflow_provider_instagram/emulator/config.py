"""The emulator's options: one dataclass, settable at start, on reset, and from the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

ApiFlavour = Literal["instagram_login", "basic_display"]

DAY = 86_400
SHORT_LIVED_SECONDS = 3_600
LONG_LIVED_SECONDS = 60 * DAY
CODE_LIFETIME_SECONDS = 3_600
MIN_REFRESH_AGE_SECONDS = DAY


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour.

    :param seed: seed of the deterministic generator; the same seed and anchor give the same data.
    :param accounts: number of seeded accounts.
    :param media: media items per account (carousel children are extra).
    :param api: ``instagram_login`` (default) or ``basic_display``: shapes, fields, headers, codes.
    :param flat_token_response: under ``instagram_login``, answer the code exchange flat instead of ``data[]``.
    :param newer_fields: serve the fields the docs mark "Facebook Login only" (caption on IG Login, etc.).
    :param auto_consent: ``/oauth/authorize`` consents at once instead of showing the HTML page.
    :param default_api_version: version used in ``paging.next`` when the request carried none.
    :param media_edge_cap: newest media visible on the media edge (Instagram: 10,000); ``None`` lifts it.
    :param rate_limit_budget: calls per app+user per window before rate-limit errors; ``None`` disables.
    :param rate_limit_window: rolling window in seconds (defaults: 1 h Basic Display, 24 h BUC).
    :param rate_limit_http_status: HTTP status of a rate-limit error (Graph uses 400; some proxies 429).
    :param usage_header_min_percent: usage headers appear only from this usage on (the API omits them early).
    :param expired_subcode: include ``error_subcode`` 463 on expired tokens (UNCONFIRMED on graph.instagram.com).
    :param young_refresh_error_code: error code refusing a refresh of a token under 24 h (UNCONFIRMED: 100 or 190).
    :param refresh_rotates_token: a refresh returns a new token string (the old one stays valid until expiry).
    :param echo_state_on_deny: echo ``state`` on the ``access_denied`` redirect (UNCONFIRMED).
    :param cdn_url_ttl: seconds a signed media URL stays valid.
    :param anchor: Unix time of the newest seeded media; ``None`` means the emulator's clock at (re)set, to the
        whole hour. An anchor after the clock seeds media that are not posted yet: the media edge (and
        ``media_count``) leave out media timestamped after the clock, so the account grows as the clock passes them.
    :param span_days: seeded media spread over this many days before the anchor.
    :param token_age: seconds the seeded long-lived tokens are old at start (0: issued at start).
    :param client_id: the seeded Instagram app id.
    :param client_secret: the seeded app secret; ``None`` derives one from the seed.
    :param redirect_uris: redirect URIs registered for the app.
    :param rate_limit_error_code: code of the rate-limit error (default 80002 Instagram Login, 17 Basic Display).
    :param faults: fault rules active from the start (see ``faults.FaultPlan``).
    :param clock: Unix time the emulator's clock reads at (re)set, running on from there; ``None`` means the wall
        clock. Tokens, codes, signed URLs and the default anchor all follow it, so a pinned clock makes a test
        independent of the time of day.
    :param account_ids: ids of the first seeded accounts, in order, instead of generated ones (any string: tests
        use it to hand out ids a client must refuse).
    :param stories: stories per account, created within the 24 h before the anchor (served by ``/<user>/stories``
        and the media node, never by the media edge; a third of them have fewer than 5 viewers).
    :param retired_metrics: insights metrics refused as "no longer supported" from now on, on every version (a
        deprecation injected mid-run through ``PATCH /_emulator/config``).
    :param retire_after_insights_calls: ``retired_metrics`` take effect only once the emulator has counted more than
        this many ``media_insights`` calls (its call counter, which a reset or ``DELETE /_emulator/calls`` clears):
        a retirement in the middle of a run, at a call a test can name (0: at once).
    :param business_conversion_time: Unix time the accounts became professional accounts; media created before it
        answer insights with subcode 2108006. ``None``: no media is that old.
    :param insights_lag_hours: media younger than this, and account days ending within it, have no insights yet
        (an empty data set). Meta says "up to 48 h" (UNCONFIRMED: the usual lag).
    :param story_insights_lag_hours: the same for stories, whose insights only live 24 h (UNCONFIRMED).
    :param serve_stories_edge: serve ``/<user>/stories`` on graph.instagram.com (UNCONFIRMED for Instagram Login
        tokens); ``False`` answers it as a nonexisting field.
    :param breakdown_error_code: code of "An unknown error has occurred.", the answer to a breakdown the metric
        lacks (UNCONFIRMED: 100, or Meta's transient code 1, which clients retry).
    :param insights_scope_error_code: error code for an insights call without ``instagram_business_manage_insights``
        (UNCONFIRMED: 10 or 200).
    :param account_insights_max_range_days: longest ``since``..``until`` range of account insights (UNCONFIRMED: 30,
        seen in third-party code only); ``None`` lifts it.
    :param serve_follower_count: serve the account metric ``follower_count`` (UNCONFIRMED: absent from the current
        reference); ``False`` refuses it as an unknown metric.
    """

    seed: int = 0
    accounts: int = 2
    media: int = 30
    api: ApiFlavour = "instagram_login"
    flat_token_response: bool = False
    newer_fields: bool = True
    auto_consent: bool = False
    default_api_version: str = "v25.0"
    media_edge_cap: int | None = 10_000
    rate_limit_budget: int | None = 4_800
    rate_limit_window: int | None = None
    rate_limit_http_status: int = 400
    usage_header_min_percent: int = 0
    expired_subcode: bool = True
    young_refresh_error_code: Literal[100, 190] = 100
    refresh_rotates_token: bool = False
    echo_state_on_deny: bool = True
    cdn_url_ttl: int = 3 * DAY
    anchor: int | None = None
    span_days: int = 90
    token_age: int = 0
    client_id: str = "990000000000001"
    client_secret: str | None = None
    redirect_uris: list[str] = field(default_factory=lambda: ["http://localhost:8765/instagram/callback"])
    rate_limit_error_code: int | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    clock: float | None = None
    account_ids: list[str] = field(default_factory=list)
    stories: int = 0
    retired_metrics: list[str] = field(default_factory=list)
    retire_after_insights_calls: int = 0
    business_conversion_time: float | None = None
    insights_lag_hours: float = 24.0
    story_insights_lag_hours: float = 0.0
    insights_scope_error_code: Literal[10, 200] = 10
    breakdown_error_code: Literal[1, 100] = 100
    serve_stories_edge: bool = True
    account_insights_max_range_days: int | None = 30
    serve_follower_count: bool = True

    def __post_init__(self) -> None:
        if self.api not in ("instagram_login", "basic_display"):
            raise ValueError(f"api must be 'instagram_login' or 'basic_display', not {self.api!r}")
        if self.young_refresh_error_code not in (100, 190):
            raise ValueError("young_refresh_error_code must be 100 or 190")
        if self.accounts < 0 or self.media < 0 or self.stories < 0:
            raise ValueError("accounts, media and stories must be zero or more")
        if len(self.account_ids) > self.accounts or len(set(self.account_ids)) != len(self.account_ids):
            raise ValueError(f"account_ids must be distinct, one per account at most: {self.account_ids}")
        self._check_insights()

    def _check_insights(self) -> None:
        if self.insights_scope_error_code not in (10, 200):
            raise ValueError("insights_scope_error_code must be 10 or 200")
        if self.breakdown_error_code not in (1, 100):
            raise ValueError("breakdown_error_code must be 1 or 100")
        if self.insights_lag_hours < 0 or self.story_insights_lag_hours < 0:
            raise ValueError("insights_lag_hours and story_insights_lag_hours must be zero or more")
        if self.account_insights_max_range_days is not None and self.account_insights_max_range_days < 1:
            raise ValueError("account_insights_max_range_days must be 1 or more, or None")
        if not isinstance(self.retired_metrics, list) or not all(isinstance(m, str) for m in self.retired_metrics):
            raise ValueError(f"retired_metrics must be a list of metric names, not {self.retired_metrics!r}")

    @property
    def window_seconds(self) -> int:
        if self.rate_limit_window is not None:
            return self.rate_limit_window
        return 3_600 if self.api == "basic_display" else DAY

    def replace(self, **changes: Any) -> EmulatorConfig:
        """Return a copy with ``changes`` applied; unknown names raise ``TypeError`` naming them."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown emulator option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
