"""MkDocs hook: check the README's links as strictly as the pages' own.

The README is not a page of the site, so MkDocs does not read it. This hook does: every relative link of
README.md must reach a file of the repository, a link into ``docs/`` must reach a page of the site, and its
``#anchor``, if any, a heading of that page. Each broken link is a warning, which ``mkdocs build --strict``
turns into a failed build.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.readme_links")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ID = re.compile(r'\bid="([^"]+)"')
_anchors: dict[str, set[str]] = {}


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """Remember the anchors of every page, by its source path (``token-refresh.md``)."""
    _anchors[page.file.src_uri] = set(_ID.findall(html))
    return html


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Warn about every README link that leads nowhere."""
    root = Path(config.config_file_path).parent
    docs = Path(config.docs_dir).resolve()
    readme = root / "README.md"
    for number, line in enumerate(readme.read_text().splitlines(), start=1):
        for target in _LINK.findall(line):
            problem = _problem(target, root, docs)
            if problem:
                log.warning("README.md:%d: link %r: %s", number, target, problem)


def _problem(target: str, root: Path, docs: Path) -> str | None:
    """Why a README link is broken, or None."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not checked here
        return None
    path, _, anchor = target.partition("#")
    if not path:
        return "an anchor inside the README: link to the docs page that holds the subject instead"
    file = (root / path).resolve()
    if not file.exists():
        return "no such file"
    if file.is_relative_to(docs) and file.suffix == ".md":
        page = file.relative_to(docs).as_posix()
        if page not in _anchors:
            return "not a page of the site (is it in mkdocs.yml's nav?)"
        if anchor and anchor not in _anchors[page]:
            return f"no heading with the anchor #{anchor} on {page}"
    return None
