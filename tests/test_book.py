"""The book builds cleanly and the built site is self-contained.

One smoke-scale build per session (the ``book_build`` / ``built_book`` fixtures in
conftest.py) is checked for:

* zero warnings under ``jupyter-book build -W -n --keep-going``, every page of the
  table of contents present;
* no page loading anything from another host: scripts, stylesheets, preloads, icons,
  images, frames and media in the HTML, ``@import`` / ``url()`` in inline and linked CSS,
  and literal remote URLs handed to a loader in inline scripts;
* every local script, stylesheet and image a page references exists in the build;
* the vendored MathJax and ipywidgets embedder (``_vendor/``) being what pages load,
  each only where it is needed and only once.

A browser test can reuse the same build through the ``built_book`` fixture.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from conftest import REPO_ROOT, BookBuild

# (tag, attribute) pairs whose URL the browser fetches while rendering the page.
FETCHED = {
    ("script", "src"), ("img", "src"), ("img", "srcset"), ("iframe", "src"), ("frame", "src"),
    ("embed", "src"), ("object", "data"), ("audio", "src"), ("video", "src"), ("video", "poster"),
    ("source", "src"), ("source", "srcset"), ("track", "src"), ("input", "src"), ("image", "href"),
    ("use", "href"), ("image", "xlink:href"), ("use", "xlink:href"),
}
# <link rel=...> values that make the browser fetch or connect.
FETCHING_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
    "icon", "shortcut", "apple-touch-icon", "mask-icon", "manifest",
}
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
CSS_URL = re.compile(r"""(?:@import\s+(?:url\(\s*)?|url\(\s*)["']?\s*([^"')\s;]+)""", re.IGNORECASE)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# A literal remote URL handed straight to something that loads it.
INLINE_LOAD = re.compile(
    r"""(?:\bsrc\s*=|\bhref\s*=|\bimport\s*\(|\bimportScripts\s*\(|\bfetch\s*\(|@import|\burl\()"""
    r"""\s*(?:url\(\s*)?\\?["'`]?\s*((?:https?:)?//[^"'`)\s]+)""",
    re.IGNORECASE,
)


def is_remote(url: str) -> bool:
    """True for a URL on another host (http, https, ws, protocol-relative, ...)."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = urlsplit(url).scheme.lower()
    return scheme not in ("", "data", "blob", "about", "javascript", "mailto", "file")


def srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


class PageScan(HTMLParser):
    """Collects what one HTML page fetches: (kind, url) pairs, inline CSS and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetches: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self.scripts: list[tuple[str, str]] = []  # (type, text)
        self._in: tuple[str, str] | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): (value or "") for name, value in attrs}
        for name, value in attributes.items():
            if (tag, name) in FETCHED and value:
                urls = srcset_urls(value) if name == "srcset" else [value]
                self.fetches.extend((f"<{tag} {name}>", url) for url in urls)
        if tag == "link":
            rels = set(attributes.get("rel", "").lower().split())
            if rels & FETCHING_RELS and attributes.get("href"):
                self.fetches.append((f"<link rel={' '.join(sorted(rels))}>", attributes["href"]))
        if tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh":
            target = attributes.get("content", "").partition("url=")[2]
            if target:
                self.fetches.append(("<meta refresh>", target))
        if "style" in attributes:
            self.styles.append(attributes["style"])
        if tag in ("script", "style"):
            self._in = (tag, attributes.get("type", "").lower())
            self._buffer = []

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._in is not None and tag == self._in[0]:
            text = "".join(self._buffer)
            if tag == "style":
                self.styles.append(text)
            else:
                self.scripts.append((self._in[1], text))
            self._in = None


def scan(page: Path) -> PageScan:
    parser = PageScan()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def css_urls(text: str) -> list[str]:
    return CSS_URL.findall(CSS_COMMENT.sub("", text))


def html_pages(html_dir: Path) -> Iterator[Path]:
    # _sources/ holds the page sources as text; _static/ the assets.
    for page in sorted(html_dir.rglob("*.html")):
        if page.relative_to(html_dir).parts[0] not in ("_sources", "_static"):
            yield page


def local_target(page: Path, url: str) -> Path:
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def toc_files(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        if "root" in node:
            yield node["root"]
        for value in node.values():
            yield from toc_files(value)
    elif isinstance(node, list):
        for value in node:
            yield from toc_files(value)


# ---------------------------------------------------------------- the checks themselves
# Fast tests of the scanner on hand-written pages, so that a check that silently stopped
# seeing anything cannot pass the built book unnoticed.

OFFENDING_PAGE = """<html><head>
<script src="https://cdn.example.org/lib.js"></script>
<link rel="stylesheet" href="//fonts.example.org/css?family=Roboto">
<link rel="preload" as="font" href="http://cdn.example.org/font.woff2">
<link rel="icon" href="https://example.org/favicon.ico">
<style>@import url("https://example.org/theme.css"); .x { background: url(https://example.org/a.png) }</style>
<script>var s = document.createElement("script"); s.src = "https://example.org/late.js";</script>
<script type="application/vnd.jupyter.widget-state+json">{"url": "https://example.org/not-loaded"}</script>
</head><body>
<img src="https://example.org/a.png" srcset="local.png 1x, https://example.org/b.png 2x">
<iframe src="https://example.org/embed"></iframe>
<div style="background-image: url('https://example.org/c.png')"></div>
<a href="https://example.org/a-link-is-not-a-load">link</a>
<script src="../_static/local.js"></script>
</body></html>"""


def remote_loads(html: str) -> list[str]:
    found = PageScan()
    found.feed(html)
    found.close()
    loads = [url for _, url in found.fetches if is_remote(url)]
    loads += [url for style in found.styles for url in css_urls(style) if is_remote(url)]
    loads += [url for kind, text in found.scripts if kind in JS_TYPES for url in INLINE_LOAD.findall(text)]
    return loads


def test_scanner_finds_every_kind_of_remote_load() -> None:
    assert sorted(remote_loads(OFFENDING_PAGE)) == sorted([
        "https://cdn.example.org/lib.js",
        "//fonts.example.org/css?family=Roboto",
        "http://cdn.example.org/font.woff2",
        "https://example.org/favicon.ico",
        "https://example.org/theme.css",
        "https://example.org/a.png",
        "https://example.org/late.js",
        "https://example.org/a.png",
        "https://example.org/b.png",
        "https://example.org/embed",
        "https://example.org/c.png",
    ])


def test_scanner_accepts_local_and_inert_urls() -> None:
    page = """<link rel="stylesheet" href="../_static/a.css"><link rel="next" href="https://example.org/">
    <img src="data:image/png;base64,AAAA"><script>const URL_ONLY = "https://example.org/x.js";</script>
    <a href="https://doi.org/10.1214/aoms/1177729893">DOI</a>"""
    assert remote_loads(page) == []
    css = "/* @import url(https://example.org/commented-out.css); */ a { b: url(../x.woff2) }"
    assert css_urls(css) == ["../x.woff2"]


@pytest.fixture(scope="module")
def pages(built_book: Path) -> dict[Path, PageScan]:
    return {page: scan(page) for page in html_pages(built_book)}


def test_book_builds_with_zero_warnings(book_build: BookBuild) -> None:
    problems = "\n".join(book_build.problems)
    tail = book_build.log[-3000:]
    assert book_build.returncode == 0, f"jupyter-book exited {book_build.returncode}:\n{problems}\n{tail}"
    assert "build succeeded" in book_build.log, book_build.log[-3000:]
    assert not book_build.problems, f"the build reported warnings:\n{problems}"


def test_every_page_of_the_toc_is_built(built_book: Path) -> None:
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    documents = sorted(set(toc_files(toc)))
    assert len(documents) > 1
    missing = [doc for doc in documents if not (built_book / f"{Path(doc).with_suffix('')}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"
    assert (built_book / "index.html").is_file()


def test_no_page_loads_from_another_host(built_book: Path, pages: dict[Path, PageScan]) -> None:
    offences = []
    for page, found in pages.items():
        name = page.relative_to(built_book)
        offences += [f"{name}: {kind} {url}" for kind, url in found.fetches if is_remote(url)]
        for style in found.styles:
            offences += [f"{name}: inline CSS {url}" for url in css_urls(style) if is_remote(url)]
        for kind, text in found.scripts:
            if kind in JS_TYPES:
                offences += [f"{name}: inline script loads {url}" for url in INLINE_LOAD.findall(text)]
    assert pages, "no HTML pages found"
    assert not offences, "pages load from other hosts:\n" + "\n".join(sorted(set(offences)))


def test_no_stylesheet_loads_from_another_host(built_book: Path) -> None:
    stylesheets = sorted(built_book.rglob("*.css"))
    assert stylesheets
    offences = [
        f"{css.relative_to(built_book)}: {url}"
        for css in stylesheets
        for url in css_urls(css.read_text(encoding="utf-8", errors="replace"))
        if is_remote(url)
    ]
    assert not offences, "stylesheets load from other hosts:\n" + "\n".join(offences)


def test_local_references_exist(built_book: Path, pages: dict[Path, PageScan]) -> None:
    missing = []
    for page, found in pages.items():
        for kind, url in found.fetches:
            if not is_remote(url) and not url.startswith(("data:", "blob:", "about:", "#")):
                if not local_target(page, url).exists():
                    missing.append(f"{page.relative_to(built_book)}: {kind} {url}")
    for css in built_book.joinpath("_static").rglob("*.css"):
        for url in css_urls(css.read_text(encoding="utf-8", errors="replace")):
            if not is_remote(url) and not url.startswith(("data:", "#", "%23")):
                if not local_target(css, url).exists():
                    missing.append(f"{css.relative_to(built_book)}: url({url})")
    assert not missing, "references to files the build does not contain:\n" + "\n".join(missing)


def loaded_scripts(found: PageScan) -> list[str]:
    return [urlsplit(url).path for kind, url in found.fetches if kind == "<script src>"]


def test_math_pages_load_the_vendored_mathjax_once(built_book: Path, pages: dict[Path, PageScan]) -> None:
    math_pages = 0
    for page, found in pages.items():
        mathjax = [src for src in loaded_scripts(found) if "mathjax" in src.lower() or "tex-" in src]
        html = page.read_text(encoding="utf-8")
        # Sphinx also loads MathJax on a page whose toctree includes pages with math.
        if 'class="math' in html or mathjax:
            math_pages += 'class="math' in html
            assert [Path(src).name for src in mathjax] == ["tex-chtml-full.js"], (page, mathjax)
            assert local_target(page, mathjax[0]).is_relative_to((built_book / "_static" / "mathjax").resolve())
            assert "argmax" in html, f"{page}: the book's MathJax macros are not configured"
    assert math_pages >= 1, "no page with math: the notation page should have some"
    fonts = list((built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "MathJax's CHTML fonts are not in the build"


def test_widget_pages_load_the_vendored_embedder(built_book: Path, pages: dict[Path, PageScan]) -> None:
    embedder = ["book-setup.js", "embed.js"]
    widget_pages = 0
    for page, found in pages.items():
        scripts = [Path(src).name for src in loaded_scripts(found)]
        has_widgets = any(kind == "application/vnd.jupyter.widget-state+json" for kind, _ in found.scripts)
        widget_pages += has_widgets
        widget_scripts = [name for name in scripts if name in embedder + ["require.js", "embed-amd.js"]]
        # Loaded once each, in this order, where a page shows widgets, and nowhere else.
        assert widget_scripts == (embedder if has_widgets else []), (page, widget_scripts)
        for _, url in found.fetches:
            if Path(urlsplit(url).path).name in embedder:
                assert local_target(page, url).parent == (built_book / "_static" / "html-manager").resolve(), url
    assert widget_pages >= 1, "no page with widgets: the playground should have some"
    for name in ("html-manager/book-setup.js", "html-manager/embed.js"):
        assert (built_book / "_static" / name).is_file(), name
    assert list((built_book / "_static" / "html-manager").glob("*.woff2")), "the embedder's fonts are missing"


def test_no_vendored_file_is_added_to_every_page(built_book: Path, pages: dict[Path, PageScan]) -> None:
    # Jupyter Book 1 adds every .js/.css of every static path to every page when a
    # top-level _static/ folder exists; the vendored assets must stay opt-in per page.
    # Only the book's stylesheet (html_css_files) is meant for every page. (MathJax, which
    # Sphinx also loads where a page's toctree lists pages with math, is checked above.)
    every_page = {"book.css", "book.js"}
    vendored = {path.name for path in (REPO_ROOT / "_vendor").rglob("*") if path.suffix in (".js", ".css")}
    vendored -= {"tex-chtml-full.js"}
    plain = [page for page in pages
             if 'class="math' not in page.read_text(encoding="utf-8") and page.name != "search.html"
             and "http-equiv=\"refresh\"" not in page.read_text(encoding="utf-8").lower()  # index.html: a redirect
             and not any(kind == "application/vnd.jupyter.widget-state+json" for kind, _ in pages[page].scripts)]
    assert plain, "no page without math and widgets"
    for page in plain:
        names = {Path(urlsplit(url).path).name for _, url in pages[page].fetches}
        assert not names & (vendored - every_page), f"{page.name} loads vendored files: {sorted(names & vendored)}"
        assert names & every_page == every_page, f"{page.name} does not load the book's stylesheet and script"
