"""The ``fields`` parameter: parsing nested expansion such as ``id,children{media_url,media_type}``."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_instagram.emulator.errors import GraphError, invalid_parameter


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    subfields: tuple[FieldSpec, ...] | None = None


def parse_fields(text: str | None, default: tuple[FieldSpec, ...] = (FieldSpec("id"),)) -> tuple[FieldSpec, ...]:
    """Parse a ``fields`` value; an absent or empty value gives ``default`` (the API answers only ``id``)."""
    if not text or not text.strip():
        return default
    specs, end = _parse_list(text, 0)
    if end != len(text):
        raise _syntax_error(text)
    return specs


def _parse_list(text: str, pos: int) -> tuple[tuple[FieldSpec, ...], int]:
    specs: list[FieldSpec] = []
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] not in ",{}.":
            pos += 1
        name = text[start:pos].strip()
        if not name:
            raise _syntax_error(text)
        if pos < len(text) and text[pos] == ".":
            # Modifiers such as .limit(5) are accepted and ignored.
            close = text.find(")", pos)
            if close < 0:
                raise _syntax_error(text)
            pos = close + 1
        sub: tuple[FieldSpec, ...] | None = None
        if pos < len(text) and text[pos] == "{":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != "}":
                raise _syntax_error(text)
            pos += 1
        specs.append(FieldSpec(name, sub))
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return tuple(specs), pos


def _syntax_error(text: str) -> GraphError:
    return invalid_parameter(f"Syntax error \"Expected end of string instead of '{text}'\" in fields")
