"""Every page of the built book in a real browser, as a reader sees it: desktop and phone.

The smoke-scale build (conftest's ``built_book``) is served over HTTP on 127.0.0.1 (as a
web host would serve it; a ``file://`` page cannot fetch the search snippets) and every
page is opened in headless Debian Chromium (Playwright, no browser download; see
``tests/test_browser.py``) at 1280 x 900 and at 390 x 844 CSS pixels. One survey of all
pages feeds the tests below; each test lists **every** offender (page, width, element,
reason) in one failure message, so that the list can be worked through:

Site-level (the build, the theme, the vendored assets, the Vega chart):

* no console error and no uncaught script error;
* no request to another host (every such request is blocked and reported);
* no broken image or other missing local file;
* no unrendered TeX in visible text outside code (``$...$``, ``\\(``, ``\\[``, ``\\alpha``),
  no MathJax error;
* on a phone, no page scrolls sideways; a box that does (a wide equation or table) is
  marked as scrolling (``_vendor/book/book.js``: a fade on the hidden side);
* search works offline and its snippets show no raw TeX;
* the alpha / lambda Vega chart fits the page at both widths and changes when alpha and
  lambda change (also after the window is resized).

Content-level (the notebooks' figures and tables; see the README's recipes):

* every image has real alt text (missing, empty, or a file name counts as none);
* every figure has a numbered caption (a ``<figure>`` with "Fig. N");
* at 1280 px no figure is shown below 80 % of its width (its labels shrink with it);
* at 1280 px no table or figure is wider than the content column (or, for a
  ``full-width`` block, than that block).

Without Chromium or Playwright the tests are skipped with the reason;
``BANDITS_REQUIRE_BROWSER=1`` turns the skip into a failure.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, unavailable

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
#: A figure shown below this fraction of its own width (at 1280 px) is too small to read.
MIN_SCALE = 0.8
PLAYGROUND = "chapters/03_8_playground.html"
#: A word that the search must find on a page with inline math near it.
SEARCH_TERM = "inverse"


# ------------------------------------------------------------------------------ serving
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(built_book: Path) -> Iterator[str]:
    """The built book served over HTTP on 127.0.0.1 (a random free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(built_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (skipped, or failed under CI, when missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -r requirements.txt)")
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get update && apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def site_pages(html_dir: Path) -> list[str]:
    """Every HTML page of the build (relative paths), but redirects and the page sources."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir)
        if relative.parts[0] in ("_sources", "_static"):
            continue
        if 'http-equiv="refresh"' in path.read_text(encoding="utf-8", errors="replace")[:2000].lower():
            continue  # index.html: a redirect to the first chapter
        pages.append(relative.as_posix())
    return pages


def local_only(base: str, blocked: list[str]):
    """A route handler: requests to the book's own server pass, every other host is refused."""

    def handle(route) -> None:
        url = route.request.url
        if url.startswith((base, "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    return handle


# --------------------------------------------------------------------------- the survey
# Waits until what the page draws by script is drawn: MathJax's typesetting, the widget
# embedder (on pages with widget state), the Vega charts.
SETTLE_JS = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  const deadline = Date.now() + 20000;
  const widgetState = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  while (widgetState && !document.querySelector('.jupyter-widgets') && Date.now() < deadline) await sleep(100);
  const charts = document.querySelectorAll('.bandits-vega-chart');
  while (Array.from(charts).some(c => !c.querySelector('svg')) && Date.now() < deadline) await sleep(100);
  await sleep(300);
  if (window.MathJax && MathJax.typesetPromise) { try { await MathJax.typesetPromise(); } catch (e) {} }
}"""

# Returns [{category, element, reason}] for one page at the current width.
AUDIT_JS = r"""({minScale, desktop}) => {
  const found = [];
  const article = document.querySelector('article.bd-article') || document.querySelector('[role=main]');
  if (!article) return [{category: 'layout', element: 'page', reason: 'no article element'}];
  const add = (category, element, reason) => found.push({category, element, reason});
  const clip = (text, n) => {
    text = text.replace(/\s+/g, ' ').trim();
    return text.length > n ? text.slice(0, n - 1) + '…' : text;
  };
  const where = el => {
    const section = el.closest('section[id]');
    const heading = section && section.querySelector('h1, h2, h3, h4');
    return heading ? ' in § "' + clip(heading.textContent.replace(/[#¶]/g, ''), 50) + '"' : '';
  };
  const imageName = img => {
    const src = img.getAttribute('src') || '';
    if (src.startsWith('data:')) return img.closest('.jupyter-widgets') ? 'widget image' : 'inline image';
    return src.split('/').pop().split('?')[0];
  };
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const cs = getComputedStyle(article), box = article.getBoundingClientRect();
  const column = {left: box.left + parseFloat(cs.paddingLeft), right: box.right - parseFloat(cs.paddingRight)};
  column.width = column.right - column.left;

  // Images: loaded, described, captioned, legible.
  article.querySelectorAll('img').forEach((img, index) => {
    const name = 'img #' + (index + 1) + ' (' + imageName(img) + ')' + where(img);
    if (img.complete && img.naturalWidth === 0) { add('broken', name, 'the image does not load'); return; }
    const alt = (img.getAttribute('alt') || '').trim();
    const src = img.getAttribute('src') || '';
    const base = src.split('/').pop().split('?')[0];
    if (!alt) add('alt', name, 'no alt text');
    else if (alt === src || alt === base || alt.includes('/_images/')
             || /^[^\s]+\.(png|jpe?g|gif|svg|webp)$/i.test(alt))
      add('alt', name, 'alt text is the file name ("' + clip(alt, 40) + '")');
    const figure = img.closest('figure');
    if (!figure || !figure.querySelector('figcaption .caption-number'))
      add('caption', name, figure ? 'the figure has no numbered caption' : 'not a figure: no number, no caption');
    if (!desktop || !visible(img) || img.naturalWidth === 0) return;
    // A 2x ("retina") PNG declares its CSS size (myst-nb writes style="width: ...px").
    const declaredStyle = /px$/.test(img.style.width) ? parseFloat(img.style.width) : 0;
    const widthAttribute = img.getAttribute('width') || '';
    const declaredAttribute = /^\d+(px)?$/.test(widthAttribute) ? parseFloat(widthAttribute) : 0;
    const intended = declaredStyle || declaredAttribute || img.naturalWidth;
    const shown = img.getBoundingClientRect().width;
    if (shown < minScale * intended)
      add('shrunk', name, 'shown at ' + Math.round(100 * shown / intended) + '% of its width (' + Math.round(intended)
          + ' px drawn, ' + Math.round(shown) + ' px shown): its lettering shrinks with it');
  });

  // Tables and figures no wider than the column (or their full-width block), at 1280 px.
  if (desktop) {
    const wide = article.querySelectorAll('table, img, figure, .bandits-vega-chart svg, .cell_output svg');
    wide.forEach((el, index) => {
      if (!visible(el) || (el.tagName === 'svg' && el.closest('mjx-container'))) return;
      const block = el.closest('.full-width, .full_width, .tag_full-width, .tag_full_width, .margin, .tag_margin');
      let limit = column;
      if (block) { const r = block.getBoundingClientRect(); limit = {left: r.left, right: r.right, width: r.width}; }
      const r = el.getBoundingClientRect();
      const tag = el.tagName.toLowerCase();
      const name = tag === 'img' ? 'img (' + imageName(el) + ')'
                 : tag === 'table' ? 'table "' + clip(el.innerText, 40) + '"' : tag;
      const label = name + where(el);
      if (r.width > limit.width + 1)
        add('overflow', label, Math.round(r.width) + ' px wide in a ' + Math.round(limit.width) + ' px '
            + (block ? 'block' : 'content column') + ' (' + Math.round(r.width - limit.width) + ' px too wide'
            + (tag === 'table' ? '; readers must scroll sideways' : '') + ')');
      else if (r.right > limit.right + 1 || r.left < limit.left - 1)
        add('overflow', label, 'sticks out of the ' + (block ? 'block' : 'content column') + ' by '
            + Math.round(Math.max(r.right - limit.right, limit.left - r.left)) + ' px');
    });
  } else if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    // On a phone the page itself must not scroll sideways: find what sticks out.
    const clipped = el => {
      for (let a = el.parentElement; a && a !== article; a = a.parentElement)
        if (getComputedStyle(a).overflowX !== 'visible') return true;
      return false;
    };
    const culprits = Array.from(article.querySelectorAll('*')).filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > window.innerWidth + 1 && !clipped(el);
    }).slice(0, 3).map(el => el.tagName.toLowerCase()
                     + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '')
                     + ' "' + clip(el.textContent, 40) + '"' + where(el));
    add('phone', 'page', 'scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide on a '
        + window.innerWidth + ' px screen (' + culprits.join(', ') + ')');
  }

  // Boxes that scroll sideways (wide equations, tables) must show it (book.js's mark).
  const scrollers = 'mjx-container[display="true"], .pst-scrollable-table-container, .cell_output .output.text_html';
  article.querySelectorAll(scrollers).forEach(box => {
    if (visible(box) && box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute('data-scroll'))
      add('cue', (box.tagName === 'MJX-CONTAINER' ? 'equation' : 'table') + where(box),
          'scrolls sideways (' + box.scrollWidth + ' px in ' + box.clientWidth + ' px) with no visible cue');
  });

  // Unrendered TeX in visible text outside code; MathJax's own errors.
  const skip = 'pre, code, script, style, textarea, kbd, samp, mjx-container, .highlight, .MathJax, .linenos, '
             + '.vega-bindings';
  const tex = /\\\(|\\\)|\\\[|\\\]|\$\$|(?:^|[^\\\w$])\$[^\s$\d][^$]*\$|\\(?:begin|end)\{|\\[A-Za-z]{2,}/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !tex.test(node.textContent)) continue;
    if (!parent.getClientRects().length) continue;  // not displayed
    const match = node.textContent.match(tex);
    const at = Math.max(0, match.index - 25);
    const text = clip(node.textContent.slice(at, at + 70), 70);
    if (seen.has(text)) continue;
    seen.add(text);
    add('tex', parent.tagName.toLowerCase() + where(parent), 'raw TeX in the text: "' + text + '"');
  }
  article.querySelectorAll('mjx-merror').forEach(el => add('tex', 'math' + where(el),
      'MathJax error: ' + clip(el.getAttribute('data-mjx-error') || el.textContent, 80)));
  return found;
}"""


@dataclass
class Offence:
    page: str
    width: int
    category: str
    element: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page} [{self.width} px] {self.element}: {self.reason}"


@dataclass
class Survey:
    pages: list[str]
    offences: list[Offence] = field(default_factory=list)

    def of(self, *categories: str) -> list[Offence]:
        return [o for o in self.offences if o.category in categories]


def report(title: str, offences: list[Offence], advice: str = "") -> str:
    lines = sorted({str(o) for o in offences})
    pages = len({o.page for o in offences})
    return f"{title}: {len(lines)} offence(s) on {pages} page(s){advice}\n" + "\n".join(f"  - {line}" for line in lines)


@pytest.fixture(scope="module")
def survey(browser, site: str, built_book: Path) -> Survey:
    """Open every page at both widths and collect what is wrong with it."""
    result = Survey(site_pages(built_book))
    assert result.pages, "no pages found in the build"
    for width, height in WIDTHS.values():
        context = browser.new_context(viewport={"width": width, "height": height})
        blocked: list[str] = []
        context.route("**/*", local_only(site, blocked))
        for name in result.pages:
            problems: list[tuple[str, str, str]] = []
            blocked.clear()
            page = context.new_page()
            page.on("console", lambda m, p=problems: m.type == "error" and p.append(
                ("console", "console", f"console error: {m.text[:300]}")))
            page.on("pageerror", lambda e, p=problems: p.append(("console", "script", f"uncaught error: {e}"[:300])))
            page.on("response", lambda r, p=problems: r.status >= 400 and r.url.startswith(site) and p.append(
                ("broken", r.url.removeprefix(site), f"HTTP {r.status}")))
            page.goto(site + name, wait_until="load", timeout=60_000)
            try:
                page.evaluate(SETTLE_JS)
                audit = page.evaluate(AUDIT_JS, {"minScale": MIN_SCALE, "desktop": width >= 1000})
            except Exception as error:  # e.g. the page navigated away by itself
                audit = [{"category": "console", "element": "page", "reason": f"could not be inspected "
                          f"(now at {page.url.removeprefix(site)}): {str(error).splitlines()[0]}"}]
            problems += [(item["category"], item["element"], item["reason"]) for item in audit]
            problems += [("network", "request", f"request to another host: {url}") for url in blocked]
            result.offences += [Offence(name, width, *problem) for problem in problems]
            page.close()
        context.close()
    return result


# ------------------------------------------------------------------------- site-level
def test_every_page_was_surveyed(survey: Survey, built_book: Path) -> None:
    assert "chapters/02_linucb.html" in survey.pages and PLAYGROUND in survey.pages
    assert len(survey.pages) >= 20


def test_no_console_errors(survey: Survey) -> None:
    offences = survey.of("console")
    assert not offences, report("console errors and uncaught script errors", offences)


def test_no_request_to_another_host(survey: Survey) -> None:
    offences = survey.of("network")
    assert not offences, report("requests to other hosts (blocked)", offences)


def test_no_broken_image_or_missing_file(survey: Survey) -> None:
    offences = survey.of("broken")
    assert not offences, report("broken images and missing files", offences)


def test_math_is_rendered(survey: Survey) -> None:
    offences = survey.of("tex")
    assert not offences, report("unrendered TeX or MathJax errors in visible text", offences)


def test_no_page_scrolls_sideways_on_a_phone(survey: Survey) -> None:
    offences = survey.of("phone")
    assert not offences, report("pages wider than a 390 px phone screen", offences)


def test_wide_equations_and_tables_show_that_they_scroll(survey: Survey) -> None:
    offences = survey.of("cue")
    assert not offences, report("boxes that scroll sideways without a cue", offences)


# ----------------------------------------------------------------------- content-level
RECIPES = " (see the README, 'Figures and tables: recipes for authors')"


def test_every_image_has_alt_text(survey: Survey) -> None:
    offences = [o for o in survey.of("alt") if o.width == WIDTHS["desktop"][0]]
    assert not offences, report("images without real alt text", offences, RECIPES)


def test_every_figure_has_a_numbered_caption(survey: Survey) -> None:
    offences = [o for o in survey.of("caption") if o.width == WIDTHS["desktop"][0]]
    assert not offences, report("figures without a number and caption", offences, RECIPES)


def test_figures_are_shown_at_a_legible_size(survey: Survey) -> None:
    offences = survey.of("shrunk")
    assert not offences, report(f"figures shown below {MIN_SCALE:.0%} of their width at 1280 px", offences, RECIPES)


def test_nothing_is_wider_than_the_content_column(survey: Survey) -> None:
    offences = survey.of("overflow")
    assert not offences, report("tables and figures wider than the content column at 1280 px", offences, RECIPES)


# ----------------------------------------------------------------------------- search
def test_search_works_offline_without_raw_tex(browser, site: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    context.route("**/*", local_only(site, blocked))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}search.html?q={SEARCH_TERM}", wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(state="attached", timeout=30_000)
    # Snippets are fetched page by page; wait until every result has its text.
    page.wait_for_function(
        """() => { const items = document.querySelectorAll('#search-results ul.search li');
                   return items.length > 0 && Array.from(items).every(li => li.querySelector('p.context')); }""",
        timeout=30_000)
    snippets = page.locator("#search-results p.context").all_inner_texts()
    titles = page.locator("#search-results ul.search li > a").all_inner_texts()
    context.close()
    assert titles, f"searching for {SEARCH_TERM!r} found nothing"
    assert any(SEARCH_TERM in s.lower() for s in snippets), snippets[:3]
    raw = [s for s in snippets if re.search(r"\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]{2,}|\$", s)]
    assert not raw, f"{len(raw)} search snippet(s) show raw TeX:\n" + "\n".join(f"  - {s[:160]}" for s in raw)
    assert not errors and not blocked, (errors, blocked)


# ----------------------------------------------------------------------- the Vega chart
def chart_layout(chart) -> dict:
    return chart.evaluate(
        """element => {
          const box = element.getBoundingClientRect(), svg = element.querySelector('svg');
          const texts = Array.from(element.querySelectorAll('svg text')).filter(t => t.textContent.trim());
          const outside = texts.filter(t => { const r = t.getBoundingClientRect();
                                              return r.right > box.right + 1 || r.left < box.left - 1; })
                               .map(t => t.textContent);
          return {box: box.width, svg: svg ? svg.getBoundingClientRect().width : 0,
                  scrolls: element.scrollWidth > element.clientWidth + 1, outside,
                  title: (texts.find(t => t.textContent.startsWith('Cumulative regret at')) || {}).textContent || '',
                  paths: Array.from(element.querySelectorAll('svg g.mark-line path')).map(p => p.getAttribute('d')),
                  outlines: Array.from(element.querySelectorAll('svg path')).map(p => p.getAttribute('d')).join('|')};
        }""")


@pytest.mark.parametrize("device", list(WIDTHS))
def test_sweep_chart_fits_and_answers_alpha_and_lambda(browser, site: str, device: str) -> None:
    width, height = WIDTHS[device]
    context = browser.new_context(viewport={"width": width, "height": height})
    blocked: list[str] = []
    context.route("**/*", local_only(site, blocked))
    page = context.new_page()
    page.goto(site + PLAYGROUND, wait_until="load")
    chart = page.locator(".bandits-vega-chart").first
    chart.locator("svg g.mark-line path").first.wait_for(state="attached", timeout=60_000)
    chart.scroll_into_view_if_needed()
    before = chart_layout(chart)
    assert before["title"].startswith("Cumulative regret at"), before["title"]
    assert not before["scrolls"] and before["svg"] <= before["box"] + 1, f"the chart does not fit: {before}"
    assert not before["outside"], f"texts cut off at {width} px: {before['outside']}"

    slider = chart.locator("input[type=range]").first
    start, maximum = float(slider.input_value()), float(slider.get_attribute("max"))
    slider.focus()
    page.keyboard.press("ArrowRight" if start < maximum else "ArrowLeft")
    alpha = float(slider.input_value())
    assert alpha != start
    page.wait_for_function(
        "([el, t]) => Array.from(el.querySelectorAll('svg text')).some(x => x.textContent.startsWith(t))",
        arg=[chart.element_handle(), f"Cumulative regret at \u03b1 = {alpha:g},"], timeout=10_000)
    after_alpha = chart_layout(chart)
    assert after_alpha["paths"] != before["paths"], "the curves did not change with alpha"

    select = chart.locator("select").first
    options = select.locator("option").all_inner_texts()
    current = select.input_value()
    other = next(o for o in options if o != current)
    select.select_option(label=other)
    page.wait_for_function(
        "([el, t]) => Array.from(el.querySelectorAll('svg text')).some(x => x.textContent.endsWith(t))",
        arg=[chart.element_handle(), f"\u03bb = {float(other):g}"], timeout=10_000)
    after_lambda = chart_layout(chart)
    assert after_lambda["paths"] != after_alpha["paths"], "the curves did not change with lambda"
    assert after_lambda["outlines"] != after_alpha["outlines"], "the heat maps' outline did not move"

    # Turned to the other width, the chart is laid out again and keeps the reader's choice.
    other_width = WIDTHS["phone" if device == "desktop" else "desktop"]
    page.set_viewport_size({"width": other_width[0], "height": other_width[1]})
    page.wait_for_function(
        "([el, w]) => { const s = el.querySelector('svg'); return s && Math.abs(s.getBoundingClientRect().width"
        " - Math.min(s.getBoundingClientRect().width, el.clientWidth)) < 1 && el.scrollWidth <= el.clientWidth + 1"
        " && window.innerWidth === w; }", arg=[chart.element_handle(), other_width[0]], timeout=10_000)
    page.wait_for_timeout(600)  # the redraw waits for the resizing to stop
    resized = chart_layout(chart)
    assert resized["title"] == after_lambda["title"], (resized["title"], after_lambda["title"])
    assert not resized["scrolls"] and not resized["outside"], resized
    assert not blocked, blocked
    context.close()
