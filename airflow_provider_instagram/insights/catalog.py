"""The metric catalog: which insights metric Instagram serves for what, read from ``catalog.json`` (data, not code).

Peers hard-code a metric list per release, and every retirement of Meta's breaks their syncs until the next one.
Here the list is data that users extend or narrow per operator, and the reader drops whatever Meta retires next
at run time (``insights.reader``): the catalog only saves the calls a known retirement would cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

MEDIA_PRODUCT_TYPES = ("FEED", "REELS", "STORY")
ACCOUNT_KINDS = ("total_value", "time_series", "demographics")
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def version_key(version: str | None) -> tuple[int, int] | None:
    """``"v22.0"`` -> ``(22, 0)``; ``None`` (an unversioned call: Meta's newest) stays ``None``."""
    if not version:
        return None
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"API version {version!r} is not of the form v<major>.<minor> (e.g. v25.0)")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the catalog.

    :param name: the metric's name in the API (``reach``).
    :param scope: ``media`` or ``account``.
    :param product_types: the media product types it is served for (media metrics).
    :param kind: ``lifetime`` (media); ``total_value``, ``time_series`` or ``demographics`` (account).
    :param added_in: the first API version serving it (``None``: every version).
    :param removed_in: the first API version no longer serving it.
    :param removed_on: the day from which Meta refuses it on every version.
    :param created_before: served only for media created before this day.
    :param unit: ``count``, ``milliseconds`` or ``percent``.
    :param breakdowns: the breakdowns it supports (one per request).
    :param default: asked for unless named; ``False`` for metrics that fail for some media of a type.
    :param max_days_back: how far back the API serves it (account metrics).
    :param source: where each fact comes from (``sources`` of ``catalog.json``).
    :param unconfirmed: what no Meta page confirms.
    """

    name: str
    scope: str
    product_types: frozenset[str] = frozenset()
    kind: str = "lifetime"
    added_in: str | None = None
    removed_in: str | None = None
    removed_on: date | None = None
    created_before: date | None = None
    unit: str = "count"
    breakdowns: tuple[str, ...] = ()
    default: bool = True
    max_days_back: int | None = None
    source: str = ""
    unconfirmed: str | None = None

    @classmethod
    def from_entry(cls, scope: str, entry: Mapping[str, Any]) -> MetricSpec:
        """One ``catalog.json`` entry (or one a user adds); unknown keys and bad values raise ``ValueError``."""
        known = {"name", "product_types", "kind", "added_in", "removed_in", "removed_on", "created_before", "unit",
                 "breakdowns", "default", "max_days_back", "source", "unconfirmed", "note"}  # fmt: skip
        unknown = sorted(set(entry) - known)
        name = str(entry.get("name", ""))
        if unknown or not _NAME.match(name):
            raise ValueError(f"metric entry {dict(entry)!r}: needs a lower-case 'name'; unknown keys {unknown}")
        products = frozenset(str(p).upper() for p in entry.get("product_types") or ())
        if scope == "media" and (not products or not products <= set(MEDIA_PRODUCT_TYPES)):
            raise ValueError(f"media metric {name!r}: product_types must be some of {list(MEDIA_PRODUCT_TYPES)}")
        kind = str(entry.get("kind") or ("lifetime" if scope == "media" else "total_value"))
        if scope == "account" and kind not in ACCOUNT_KINDS:
            raise ValueError(f"account metric {name!r}: kind must be one of {list(ACCOUNT_KINDS)}, not {kind!r}")
        for key in ("added_in", "removed_in"):
            version_key(entry.get(key))  # fails early on a malformed version
        return cls(
            name=name, scope=scope, product_types=products, kind=kind, added_in=entry.get("added_in"),
            removed_in=entry.get("removed_in"), removed_on=_day(entry.get("removed_on")),
            created_before=_day(entry.get("created_before")), unit=str(entry.get("unit", "count")),
            breakdowns=tuple(entry.get("breakdowns") or ()), default=bool(entry.get("default", True)),
            max_days_back=entry.get("max_days_back"), source=str(entry.get("source", "")),
            unconfirmed=entry.get("unconfirmed"),
        )  # fmt: skip

    def served(self, api_version: str | None, on: date) -> bool:
        """Whether the API of ``api_version`` serves it on day ``on``."""
        if self.removed_on is not None and on >= self.removed_on:
            return False
        asked = version_key(api_version)
        if asked is None:  # unversioned calls get Meta's newest version
            return self.removed_in is None
        if self.added_in is not None and asked < (version_key(self.added_in) or (0, 0)):
            return False
        return self.removed_in is None or asked < (version_key(self.removed_in) or (0, 0))

    def serves_media(self, product_type: str | None, created: date | None) -> bool:
        """Whether it exists for a media of ``product_type`` created on ``created``."""
        if product_type not in self.product_types:
            return False
        return self.created_before is None or (created is not None and created < self.created_before)


@dataclass(frozen=True)
class MetricCatalog:
    """The metrics known for media and accounts (see ``catalog.json``).

    :param media: media metrics by name.
    :param account: account metrics by name.
    """

    media: Mapping[str, MetricSpec]
    account: Mapping[str, MetricSpec]

    @classmethod
    def bundled(cls) -> MetricCatalog:
        """The catalog shipped with the provider."""
        return _bundled()

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> MetricCatalog:
        media = {s.name: s for s in (MetricSpec.from_entry("media", e) for e in data.get("media") or ())}
        account = {s.name: s for s in (MetricSpec.from_entry("account", e) for e in data.get("account") or ())}
        return cls(media, account)

    def customised(
        self, *, include: Iterable[str] | None = None, exclude: Iterable[str] = (),
        add: Iterable[Mapping[str, Any]] = (),
    ) -> MetricCatalog:  # fmt: skip
        """A copy narrowed or extended for one operator.

        :param include: ask for exactly these metrics (by name, media and account alike), opt-in ones included.
        :param exclude: never ask for these.
        :param add: catalog entries to add or replace; each has ``scope`` ``media`` (default) or ``account``.
        :raises ValueError: a name is in neither scope, or an entry is malformed.
        """
        media, account = dict(self.media), dict(self.account)
        for entry in add:
            scope = str(entry.get("scope", "media"))
            spec = MetricSpec.from_entry(scope, {k: v for k, v in entry.items() if k != "scope"})
            (media if scope == "media" else account)[spec.name] = spec
        names = set(media) | set(account)
        wanted = None if include is None else set(include)
        unknown = sorted(((wanted or set()) | set(exclude)) - names)
        if unknown:
            raise ValueError(
                f"unknown insights metric(s) {unknown}: name metrics of the catalog "
                f"(airflow_provider_instagram/insights/catalog.json), or describe new ones in 'add_metrics'"
            )

        def chosen(spec: MetricSpec) -> MetricSpec | None:
            if spec.name in exclude:
                return None
            if wanted is None:
                return spec
            return replace(spec, default=True) if spec.name in wanted else None

        pick = {n: s for n, s in ((n, chosen(s)) for n, s in media.items()) if s is not None}
        pick_account = {n: s for n, s in ((n, chosen(s)) for n, s in account.items()) if s is not None}
        return MetricCatalog(pick, pick_account)

    def media_metrics(self, product_type: str | None, api_version: str | None, on: date,
                      created: date | None = None) -> tuple[MetricSpec, ...]:  # fmt: skip
        """The metrics to ask for a media: its product type's, served by that version on that day."""
        return tuple(
            s for s in self.media.values()
            if s.default and s.served(api_version, on) and s.serves_media(product_type, created)
        )  # fmt: skip

    def account_metrics(self, kind: str, api_version: str | None, on: date) -> tuple[MetricSpec, ...]:
        """The account metrics of one kind to ask for."""
        return tuple(s for s in self.account.values() if s.kind == kind and s.default and s.served(api_version, on))


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


@cache
def _bundled() -> MetricCatalog:
    text = files("airflow_provider_instagram.insights").joinpath("catalog.json").read_text(encoding="utf-8")
    return MetricCatalog.from_data(json.loads(text))
