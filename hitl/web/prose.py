"""Text an agent wrote in Markdown (a HumanInterrupt's or a reviewed tool call's `description`), as safe HTML.

Agent Inbox renders `description` as Markdown; so does the inbox, with markdown-it-py in CommonMark mode and
raw HTML off: a `<script>` or `<img onerror=...>` in the text is shown as text, never parsed as markup. Links
keep only the schemes markdown-it-py lets through (no `javascript:`, `vbscript:`, `file:` or `data:`), open
in a new tab with no referrer and no opener; images are off (a remote image would tell its host who read
the question, and when). The CSP (app.py) forbids inline script besides.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

MAX_CHARS = 20_000
"""Longer descriptions are cut before rendering (a page shows a question, not a book)."""

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def _link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return str(renderer.renderToken(tokens, idx, options, env))


_md.add_render_rule("link_open", _link_open)


def markdown(text: Any) -> Markup:
    """`text` rendered as Markdown, raw HTML escaped (a non-string shows as its text)."""
    source = text if isinstance(text, str) else str(text)
    return Markup(_md.render(source[:MAX_CHARS]))
