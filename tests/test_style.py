"""The book's figure and table style (bandits_lib/style.py)."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bandits_lib import style


@pytest.fixture
def book_rc():
    with matplotlib.rc_context():
        style.use_book_style(retina=False)
        yield


def png_size(fig) -> tuple[int, int]:
    """Pixel size of the PNG the inline backend would show (bbox 'tight', like Jupyter)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return Image.open(io.BytesIO(buffer.getvalue())).size


def test_constants_describe_the_page() -> None:
    assert style.COLUMN_WIDTH_IN * style.DPI == pytest.approx(style.COLUMN_WIDTH_PX)
    assert style.FULL_WIDTH_IN * style.DPI == pytest.approx(style.FULL_WIDTH_PX)
    assert style.FULL_WIDTH_PX == pytest.approx(1.36 * style.COLUMN_WIDTH_PX, abs=1)  # the theme's 136 %


def test_a_default_figure_fills_one_column_at_full_size(book_rc) -> None:
    import matplotlib.pyplot as plt

    assert matplotlib.rcParams["figure.dpi"] == style.DPI
    fig, ax = plt.subplots()
    ax.plot(np.arange(400), np.sqrt(np.arange(400)), label="LinUCB")
    ax.set(xlabel="interaction (step)", ylabel="cumulative regret (clicks)", title="A title that states a finding")
    ax.legend()
    width, _ = png_size(fig)
    plt.close(fig)
    # Shown at 100 % (not shrunk) and not much narrower than the column.
    assert 0.85 * style.COLUMN_WIDTH_PX <= width <= style.COLUMN_WIDTH_PX


def test_the_style_draws_without_a_word_on_stderr() -> None:
    """The book build fails on any stderr output of a cell (a font fallback message included).

    Run in a fresh process: matplotlib reports a missing font weight once per process.
    """
    code = (
        "import matplotlib; matplotlib.use('agg')\n"
        "import io, matplotlib.pyplot as plt\n"
        "from bandits_lib import style\n"
        "style.use_book_style(retina=False)\n"
        "fig, axes = style.subplots(2, ncols=2, full_width=True)\n"
        "for ax in axes:\n"
        "    ax.plot([0, 1], [1, 0], label='curve'); ax.legend()\n"
        "    ax.set(title='A title that states a finding', xlabel='x (unit)', ylabel='y (unit)')\n"
        "fig.suptitle('Suptitle'); fig.legend(loc='outside upper center')\n"
        "fig.savefig(io.BytesIO(), format='png', bbox_inches='tight')\n"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("full_width", [False, True])
def test_subplots_stay_within_their_width(book_rc, full_width: bool) -> None:
    import matplotlib.pyplot as plt

    fig, axes = style.subplots(3, ncols=2 if full_width else 1, full_width=full_width, sharex=True)
    assert len(axes) == 3
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a curve with a long label")
        ax.set(xlabel="interaction (step)", ylabel="regret (clicks)", title="panel")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center")
    width, height = png_size(fig)
    plt.close(fig)
    limit = style.FULL_WIDTH_PX if full_width else style.COLUMN_WIDTH_PX
    assert 0.9 * limit <= width <= limit + 2
    assert height > 2 * style.DPI


def test_figsize_stacks_panels_and_checks_its_input() -> None:
    one = style.figsize()
    assert one == (style.COLUMN_WIDTH_IN, style.PANEL_HEIGHT_IN)
    assert style.figsize(3) == (style.COLUMN_WIDTH_IN, pytest.approx(3 * style.PANEL_HEIGHT_IN))
    assert style.figsize(4, ncols=2)[1] == pytest.approx(2 * style.figsize(2, ncols=2)[1], abs=0.02)
    assert style.figsize(1, full_width=True)[0] == style.FULL_WIDTH_IN
    assert style.figsize(2, panel_height=2.0) == (style.COLUMN_WIDTH_IN, 4.0)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_panels"):
            style.figsize(bad)
    with pytest.raises(ValueError, match="panel_height"):
        style.figsize(1, panel_height=float("nan"))


def test_use_book_style_rejects_a_non_boolean() -> None:
    with matplotlib.rc_context(), pytest.raises(TypeError, match="retina"):
        style.use_book_style(retina="yes")


def test_retina_pngs_declare_their_css_size() -> None:
    """In IPython the figure is saved at 2x and declared at 1x (myst-nb writes width=...)."""
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import matplotlib; matplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\n"
        "from bandits_lib.style import use_book_style\n"
        "use_book_style()\n"
        "fig, ax = plt.subplots(); ax.plot([0, 1])\n"
        "data, metadata = shell.display_formatter.format(fig)\n"
        "print(metadata['image/png']['width'])\n"
        "import base64, io; from PIL import Image\n"
        "print(Image.open(io.BytesIO(base64.b64decode(data['image/png']))).size[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    declared, pixels = (int(line) for line in done.stdout.split())
    assert pixels == pytest.approx(2 * declared, abs=2)
    assert 0.9 * style.COLUMN_WIDTH_PX <= declared <= style.COLUMN_WIDTH_PX


# ------------------------------------------------------------------------------ tables
def test_format_table_units_digits_and_integers() -> None:
    df = pd.DataFrame({
        "agent": ["LinUCB", "NeuralUCB (diagonal)"],
        "regret": [123.456789, 98.7654321],
        "steps": [40_000.0, 40_000.0],
        "seeds": np.array([5, 5]),
        "ctr": [0.031234, 0.045],
        "time": [0.001234, np.nan],
    })
    original = df.copy()
    html = style.format_table(df, units={"regret": "clicks", "time": "s"}, percent=["ctr"]).to_html()
    pd.testing.assert_frame_equal(df, original)  # the data frame is not changed
    for header in ("regret (clicks)", "steps", "seeds", "ctr (%)", "time (s)"):
        assert f">{header}<" in html
    assert ">123<" in html and ">99<" in html  # three significant digits of the median, same decimals in a column
    assert ">40,000<" in html and "40000.0" not in html  # whole floats as integers
    assert ">5<" in html
    assert "3.1\u2009%" in html and "4.5\u2009%" in html
    assert ">0.00123<" in html and "\u2013" in html  # small numbers keep their digits; NaN as a dash
    assert "123.456789" not in html
    assert 'class="row_heading' not in html  # a plain range index is not shown
    assert "white-space: normal" in html and "tabular-nums" in html


def test_format_table_options() -> None:
    df = pd.DataFrame({"regret": [1.23456, 2.5]}, index=pd.Index(["a", "b"], name="agent"))
    html = style.format_table(df, decimals={"regret": 1}, caption="Final regret").to_html()
    assert ">1.2<" in html and ">2.5<" in html
    assert "Final regret" in html and "row_heading" in html  # a named index is shown
    assert ">1.23<" in style.format_table(df, decimals=2).to_html()
    for kwargs, message in (
        ({"units": {"missing": "s"}}, "units names columns"),
        ({"percent": ["missing"]}, "percent names columns"),
        ({"decimals": {"missing": 1}}, "decimals names columns"),
        ({"decimals": -1}, "decimals must be"),
        ({"significant": 0}, "significant must be"),
    ):
        with pytest.raises(ValueError, match=message):
            style.format_table(df, **kwargs)
    with pytest.raises(TypeError, match="DataFrame"):
        style.format_table([[1, 2]])
