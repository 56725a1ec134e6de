"""The playground page in a real browser, with the network off.

Opens the built ``chapters/03_8_playground.html`` in headless Chromium (Debian's
``/usr/bin/chromium``, driven by Playwright; no browser is ever downloaded), checks that
the precomputed sweep chart is drawn, moves its alpha slider and checks that the chart
changed. Also checks what the static page shows instead of the live explorers (their
figures, no dead sliders) and the launch / download buttons.

Without Chromium or Playwright the browser test is skipped with the reason; CI sets
``BANDITS_REQUIRE_BROWSER=1`` (see ``.ci/run``), which turns the skip into a failure.
Set ``BANDITS_BROWSER_SCREENSHOTS=<folder>`` to keep the screenshots.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _repository() -> tuple[str, str]:
    """``owner/name`` and branch of the repository in _config.yml (the one place that names it)."""
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parent.parent / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]
    return repository["url"].rstrip("/").removeprefix("https://github.com/"), repository.get("branch", "main")


REQUIRED = os.environ.get("BANDITS_REQUIRE_BROWSER", "").strip() == "1"
PAGE = Path("chapters") / "03_8_playground.html"
REPOSITORY, BRANCH = _repository()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable(reason: str) -> None:
    """Skip, or fail where CI requires the browser test to run."""
    if REQUIRED:
        pytest.fail(f"BANDITS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def html_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke-scale build: conftest's shared ``built_book`` when present, else built here."""
    try:
        return request.getfixturevalue("built_book")
    except pytest.FixtureLookupError:
        pass
    output = tmp_path_factory.mktemp("book")
    repo = Path(__file__).resolve().parent.parent
    script = Path(sys.executable).with_name("jupyter-book")
    command = [str(script) if script.exists() else "jupyter-book", "build", str(repo), "--path-output", str(output),
               "-W", "-n", "--keep-going"]
    done = subprocess.run(command, cwd=repo, env={**os.environ, "BANDITS_SMOKE": "1"}, capture_output=True,
                          text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return output / "_build" / "html"


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


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BANDITS_BROWSER_SCREENSHOTS", "") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chart_state(chart) -> dict:
    """What the chart shows: its texts (titles, end labels) and the geometry of its marks."""
    return chart.evaluate(
        """element => ({
            texts: Array.from(element.querySelectorAll('svg text')).map(t => t.textContent),
            paths: Array.from(element.querySelectorAll('svg path')).map(p => p.getAttribute('d') || ''),
            rects: Array.from(element.querySelectorAll('svg g.mark-rect path')).length,
        })"""
    )


def test_sweep_chart_moves_with_its_slider_offline(browser, html_dir: Path, tmp_path: Path) -> None:
    page_file = html_dir / PAGE
    assert page_file.exists(), f"{PAGE} was not built"
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1800})
    requests_off_disk: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            requests_off_disk.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri(), wait_until="load")

    chart = page.locator(".bandits-vega-chart").first
    chart.locator("svg g.mark-line path").first.wait_for(state="attached", timeout=60_000)
    chart.scroll_into_view_if_needed()
    shots = screenshot_folder(tmp_path)
    chart.screenshot(path=str(shots / "playground_chart_before.png"))
    page.screenshot(path=str(shots / "playground_page.png"))
    before = chart_state(chart)
    title_before = next(t for t in before["texts"] if t.startswith("Cumulative regret at"))
    assert before["rects"] > 0, "the heat maps drew no cells"

    slider = chart.locator("input[type=range]").first
    start, maximum = float(slider.input_value()), float(slider.get_attribute("max"))
    slider.focus()
    page.keyboard.press("ArrowRight" if start < maximum else "ArrowLeft")
    moved = float(slider.input_value())
    assert moved != start, "the slider did not move"
    expected_title = f"Cumulative regret at \u03b1 = {moved:g}"
    page.wait_for_function(
        """([element, expected]) => Array.from(element.querySelectorAll('svg text'))
               .some(t => t.textContent.startsWith(expected))""",
        arg=[chart.element_handle(), expected_title], timeout=10_000,
    )
    after = chart_state(chart)
    chart.screenshot(path=str(shots / "playground_chart_after.png"))

    assert title_before.startswith(f"Cumulative regret at \u03b1 = {start:g}")
    assert any(t.startswith(expected_title) for t in after["texts"])
    assert after["paths"] != before["paths"], "the regret curves did not change"
    assert not errors, f"script errors on the page: {errors}"
    assert not requests_off_disk, f"the page tried to reach the network: {requests_off_disk[:5]}"
    context.close()


def test_static_page_shows_the_explorers_figures(browser, html_dir: Path) -> None:
    """No kernel on the web: each explorer shows its figure and a note, and no control."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1800})
    page = context.new_page()
    page.goto((html_dir / PAGE).as_uri(), wait_until="load")
    for call in ("regret_explorer(", "bonus_explorer("):
        cell = page.locator("div.cell", has=page.locator("div.cell_input", has_text=call)).first
        image = cell.locator("div.cell_output img").first
        image.wait_for(state="visible", timeout=60_000)
        assert image.evaluate("img => img.complete && img.naturalWidth > 400"), f"{call} figure did not load"
        assert "controls need a running Python kernel" in cell.locator("div.cell_output").inner_text()
        controls = cell.locator("div.cell_output").locator(
            ".widget-slider, .widget-dropdown, .widget-checkbox, .widget-text, input, select")
        visible = [i for i in range(controls.count()) if controls.nth(i).is_visible()]
        assert not visible, f"{call} shows {len(visible)} control(s) that nothing answers"
    context.close()


def test_launch_and_download_buttons(html_dir: Path) -> None:
    text = (html_dir / PAGE).read_text(encoding="utf-8")
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/chapters/03_8_playground.ipynb"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/chapters/03_8_playground.ipynb"
    assert binder in text.replace("&amp;", "&")
    assert colab in text
    assert "/./" not in text  # no path_to_book: "." would put it into every launch link
    assert "_sources/chapters/03_8_playground.ipynb" in text  # the download-notebook button
