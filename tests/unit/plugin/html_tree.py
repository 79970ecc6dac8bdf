"""The plugin's pages as a tree: the stdlib HTML parser into ElementTree elements, strict about nesting, so that
tests assert on structure (``.//tr[@data-level]``) rather than on substrings of the markup."""

from __future__ import annotations

from html.parser import HTMLParser
from xml.etree import ElementTree

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ElementTree.Element("document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = ElementTree.SubElement(self.stack[-1], tag, {name: value or "" for name, value in attrs})
        if tag == "br":
            element.tail = "\n"  # a line break shows as white space
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ElementTree.SubElement(self.stack[-1], tag, {name: value or "" for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        opened = self.stack.pop().tag
        if opened != tag:
            raise AssertionError(f"</{tag}> closes <{opened}>")

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def parse(markup: str) -> ElementTree.Element:
    """The page's tree (entities decoded, as a browser shows them); fails on an element closed out of order or
    left open."""
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    if len(builder.stack) != 1:
        raise AssertionError(f"unclosed elements: {[e.tag for e in builder.stack[1:]]}")
    return builder.root


def by_id(tree: ElementTree.Element, element_id: str) -> ElementTree.Element:
    """The one element with ``id`` ``element_id``."""
    found = tree.findall(f".//*[@id='{element_id}']")
    assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
    return found[0]


def text(element: ElementTree.Element) -> str:
    """The element's text as shown, whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def classes(element: ElementTree.Element) -> set[str]:
    return set(element.get("class", "").split())
