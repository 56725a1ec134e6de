r"""One look for every figure and table of the book, sized for its web page.

The book's pages (Jupyter Book 1, sphinx-book-theme 1.3) set text in a content column
:data:`COLUMN_WIDTH_PX` = 688 CSS pixels wide on a desktop screen; a cell tagged
``full-width`` (or a ``{div} full-width`` block around a glued figure) spans
:data:`FULL_WIDTH_PX` = 935 pixels. A PNG figure wider than its column is shrunk to fit,
and its lettering with it: a 12-inch figure saved at 100 dpi (1,200 pixels) is shown at
57 % of its size, its 10-point labels at about 8 pixels. :func:`use_book_style` sets
matplotlib so that a figure of the default size is exactly one column wide at 100 %
(``figure.dpi`` = :data:`DPI`, widths in inches = pixels / dpi), with fonts chosen for
that size, and (by default) saves PNGs at twice the resolution, declared at their CSS
size, so that they stay sharp on high-density screens. :func:`figsize` and
:func:`subplots` size a figure of ``n`` panels for the column or the full width.

:func:`format_table` turns a data frame into a table to display: units in the headers,
the same number of decimals in a column, integers without decimals and with thousands
separators, numbers aligned on the right, long headers wrapped instead of widening the
table.

Taught in: chapters/00_intro (how the book's figures are made); used by every chapter.

Examples
--------
>>> from bandits_lib.style import COLUMN_WIDTH_IN, figsize
>>> figsize(2)[0] == COLUMN_WIDTH_IN
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: Width of the page's content column in CSS pixels at a desktop width (>= 1200 px).
COLUMN_WIDTH_PX: int = 688
#: Width of a ``full-width`` block: the column plus the margin (136 % of the column).
FULL_WIDTH_PX: int = 935
#: Figure resolution: 1 inch of figure = ``DPI`` CSS pixels on the page.
DPI: int = 100
#: A figure this wide (inches) fills the content column at 100 %.
COLUMN_WIDTH_IN: float = COLUMN_WIDTH_PX / DPI
#: A figure this wide (inches) fills a ``full-width`` block at 100 %.
FULL_WIDTH_IN: float = FULL_WIDTH_PX / DPI
#: Height of one panel (inches) unless told otherwise: 0.55 of the column width.
PANEL_HEIGHT_IN: float = round(0.55 * COLUMN_WIDTH_IN, 2)

#: The book's matplotlib settings (see :func:`use_book_style`).
BOOK_RC: dict[str, Any] = {
    "figure.figsize": (COLUMN_WIDTH_IN, PANEL_HEIGHT_IN),
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "legend.framealpha": 0.9,
    "figure.titlesize": 12.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    # Room for the last point: markers and labels at the edge are not cut off.
    "axes.xmargin": 0.02,
    "axes.ymargin": 0.05,
    # Plot area spans the figure (the inline backend crops to the drawing anyway).
    "figure.subplot.left": 0.1,
    "figure.subplot.right": 0.97,
    "figure.subplot.bottom": 0.13,
    "figure.subplot.top": 0.9,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
}


def use_book_style(retina: bool = True) -> None:
    """Apply the book's figure style (call once, in a notebook's setup cell).

    Sets :data:`BOOK_RC` in ``matplotlib.rcParams``: a default figure
    :data:`COLUMN_WIDTH_IN` x :data:`PANEL_HEIGHT_IN` inches at :data:`DPI` dpi (one
    content column, 688 x 378 pixels, shown at 100 %), 10-point text, 9-point ticks and
    legends, a light grid. In IPython with ``retina=True`` the inline backend saves
    PNGs at twice the pixels and declares their CSS size, so the page shows them at the
    same size, sharper on high-density screens. Outside IPython only the rcParams change.

    Parameters
    ----------
    retina : bool, default True
        Save inline figures as 2x PNGs (about twice the bytes of 1x PNGs).

    Examples
    --------
    >>> import matplotlib
    >>> use_book_style(retina=False)
    >>> matplotlib.rcParams["figure.dpi"] == DPI
    True
    """
    import matplotlib

    if not isinstance(retina, bool):
        raise TypeError(f"retina must be True or False, got {retina!r}")
    matplotlib.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks only
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina" if retina else "png")
    # The inline backend keeps its own copy of some rcParams; ours win.
    matplotlib.rcParams.update(BOOK_RC)


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def figsize(n_panels: int = 1, *, ncols: int = 1, full_width: bool = False,
            panel_height: float | None = None) -> tuple[float, float]:
    """Size (inches) of a figure of ``n_panels`` panels laid out ``ncols`` per row.

    The width is one content column (:data:`COLUMN_WIDTH_IN`), or the full width
    (:data:`FULL_WIDTH_IN`) with ``full_width=True``; the height is ``panel_height``
    (default :data:`PANEL_HEIGHT_IN`, narrower for side-by-side panels) per row. Stack
    panels (``ncols=1``, the default) where they share an x axis; put at most two side by
    side in a column, three in a full-width figure.

    Parameters
    ----------
    n_panels : int, default 1
        Number of panels.
    ncols : int, default 1
        Panels per row.
    full_width : bool, default False
        Size for a ``full-width`` cell (see the module docstring).
    panel_height : float, optional
        Height of one row of panels in inches.

    Returns
    -------
    (width, height) : tuple of float

    Examples
    --------
    >>> figsize(2)
    (6.88, 7.56)
    >>> figsize(2, ncols=2, full_width=True)
    (9.35, 3.37)
    """
    n_panels, ncols = _check_count("n_panels", n_panels), _check_count("ncols", ncols)
    ncols = min(ncols, n_panels)
    width = FULL_WIDTH_IN if full_width else COLUMN_WIDTH_IN
    if panel_height is None:
        panel_width = width / ncols
        panel_height = min(PANEL_HEIGHT_IN, max(2.4, 0.72 * panel_width)) if ncols > 1 else PANEL_HEIGHT_IN
    elif not (isinstance(panel_height, (int, float)) and not isinstance(panel_height, bool)
              and math.isfinite(panel_height) and panel_height > 0):
        raise ValueError(f"panel_height must be a positive number of inches, got {panel_height!r}")
    rows = math.ceil(n_panels / ncols)
    return (round(width, 2), round(rows * float(panel_height), 2))


def subplots(n_panels: int = 1, *, ncols: int = 1, full_width: bool = False,
             panel_height: float | None = None, **kwargs: Any):
    """``plt.subplots`` for the book: :func:`figsize` and a constrained layout.

    The constrained layout keeps titles, labels and a legend placed with
    ``fig.legend(loc="outside upper center")`` inside the figure's size, so the figure is
    shown at 100 %. Do not call ``fig.tight_layout()`` on it (matplotlib warns, and the
    book build fails on warnings). Further keyword arguments go to ``plt.subplots``
    (``sharex=True``, ...).

    Returns
    -------
    (figure, axes)
        ``axes`` is one Axes for one panel, else a flat array of ``n_panels`` Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    size = figsize(n_panels, ncols=ncols, full_width=full_width, panel_height=panel_height)
    ncols = min(ncols, n_panels)
    rows = math.ceil(n_panels / ncols)
    kwargs.setdefault("layout", "constrained")
    fig, axes = plt.subplots(rows, ncols, figsize=size, squeeze=False, **kwargs)
    flat = np.asarray(axes).ravel()
    for extra in flat[n_panels:]:
        extra.remove()
    return fig, (flat[0] if n_panels == 1 else flat[:n_panels])


# ----------------------------------------------------------------------------- tables
def _decimals_for(values: Iterable[float], significant: int) -> int:
    """Decimals that give ``significant`` digits to the column's typical (median) value."""
    import numpy as np

    magnitudes = np.abs(np.asarray([v for v in values if v is not None], dtype=float))
    magnitudes = magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]
    if magnitudes.size == 0:
        return 0
    typical = float(np.median(magnitudes))
    return int(min(6, max(0, significant - 1 - math.floor(math.log10(typical)))))


def _is_integral(series) -> bool:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_integer_dtype(series):
        return True
    if not pd.api.types.is_float_dtype(series):
        return False
    values = series.dropna().to_numpy(dtype=float)
    return values.size > 0 and bool(np.all(np.isfinite(values))) and bool(np.all(values == np.round(values))) \
        and bool(np.all(np.abs(values) < 2**53))


#: CSS of every table made by :func:`format_table` (numbers right-aligned, in equal-width
#: digits; headers may wrap, numbers may not; the table is no wider than its column).
TABLE_STYLES: list[dict[str, Any]] = [
    {"selector": "", "props": [("border-collapse", "collapse"), ("max-width", "100%"), ("font-size", "0.9em")]},
    {"selector": "th", "props": [("white-space", "normal"), ("overflow-wrap", "break-word"), ("text-align", "right"),
                                 ("vertical-align", "bottom"), ("padding", "0.25em 0.6em")]},
    {"selector": "td", "props": [("white-space", "nowrap"), ("text-align", "right"), ("padding", "0.25em 0.6em"),
                                 ("font-variant-numeric", "tabular-nums")]},
    {"selector": "caption", "props": [("caption-side", "top"), ("text-align", "left"), ("padding-bottom", "0.4em")]},
]


def format_table(df, *, units: Mapping[str, str] | None = None, decimals: Mapping[str, int] | int | None = None,
                 significant: int = 3, percent: Iterable[str] = (), caption: str | None = None,
                 index: bool | None = None):
    """A data frame as a table for the page: units in headers, sensible digits.

    Every float column gets one number of decimals for all its rows (given, or enough
    for ``significant`` digits of the column's median magnitude, at most 6); float
    columns whose values are all whole numbers, and integer columns, are shown as
    integers with thousands separators; ``percent`` columns (fractions) are shown as
    percentages; missing values as an en dash. Headers become ``"name (unit)"``.
    Nothing of ``df`` is changed.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; column labels are used as headers.
    units : dict, optional
        ``{column: unit}``, e.g. ``{"regret": "clicks", "time": "s"}``.
    decimals : int or dict, optional
        Decimals for every float column, or ``{column: decimals}`` for some of them.
    significant : int, default 3
        Significant digits of a column's median value when ``decimals`` does not say.
    percent : iterable of str, default ()
        Columns of fractions to show as percentages (``0.0312`` as ``3.1 %`` with the
        default digits); their header gets ``(%)`` unless ``units`` names one.
    caption : str, optional
        A caption above the table (unnumbered; for a numbered one glue the table and use
        ``{glue:figure}``, see the README).
    index : bool, optional
        Show the index; by default only when it is not a plain ``0..n-1`` range.

    Returns
    -------
    pandas.io.formats.style.Styler
        Displays as an HTML table in a notebook and on the page.

    Examples
    --------
    >>> import pandas as pd
    >>> table = format_table(pd.DataFrame({"agent": ["A"], "regret": [12.3456], "steps": [4000.0]}),
    ...                      units={"regret": "clicks"})
    >>> "regret (clicks)" in table.to_html() and "12.3" in table.to_html() and "4,000" in table.to_html()
    True
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(significant, bool) or not isinstance(significant, int) or not 1 <= significant <= 15:
        raise ValueError(f"significant must be an integer from 1 to 15, got {significant!r}")
    units = dict(units or {})
    percent = list(percent)
    labels = [str(c) for c in df.columns]
    if len(set(labels)) != len(labels):
        raise ValueError(f"df has repeated column labels: {labels}")
    for name, given in (("units", units), ("percent", dict.fromkeys(percent))):
        unknown = [key for key in given if key not in df.columns]
        if unknown:
            raise ValueError(f"{name} names columns that df does not have: {unknown}; columns: {labels}")
    if isinstance(decimals, Mapping):
        unknown = [key for key in decimals if key not in df.columns]
        if unknown:
            raise ValueError(f"decimals names columns that df does not have: {unknown}; columns: {labels}")
    per_column: dict[Any, int | None] = dict(decimals) if isinstance(decimals, Mapping) else {}
    for value in ([decimals] if isinstance(decimals, int) else []) + list(per_column.values()):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 12:
            raise ValueError(f"decimals must be integers from 0 to 12, got {decimals!r}")

    formatters: dict[Any, Any] = {}
    for column in df.columns:
        series = df[column]
        if column in percent:
            places = per_column.get(column, decimals if isinstance(decimals, int) else None)
            if places is None:
                places = max(0, _decimals_for(series.to_numpy(dtype=float) * 100, significant - 1))
            formatters[column] = (lambda p: (lambda v: f"{100 * v:,.{p}f}\u2009%"))(places)
        elif _is_integral(series) and column not in per_column:
            formatters[column] = lambda v: f"{int(v):,}"
        elif pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
            places = per_column.get(column, decimals if isinstance(decimals, int) else None)
            if places is None:
                places = _decimals_for(series.to_numpy(dtype=float), significant)
            formatters[column] = (lambda p: (lambda v: f"{v:,.{p}f}"))(places)
    headers = {}
    for column in df.columns:
        unit = units.get(column, "%" if column in percent else None)
        headers[column] = f"{column} ({unit})" if unit else str(column)

    shown = df.rename(columns=headers)
    styler = shown.style.format({headers[c]: f for c, f in formatters.items()}, na_rep="\u2013", escape="html")
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler = styler.set_table_styles(TABLE_STYLES)
    text_columns = [headers[c] for c in df.columns if c not in formatters]
    if text_columns:
        # !important: the cell-id rule would lose to TABLE_STYLES' "#T td" (more specific) and never wrap.
        styler = styler.set_properties(subset=text_columns, **{"text-align": "left !important",
                                                               "white-space": "normal !important"})
    if index is None:
        index = not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1)
    if not index:
        styler = styler.hide(axis="index")
    if caption is not None:
        styler = styler.set_caption(str(caption))
    return styler


__all__ = [
    "BOOK_RC", "COLUMN_WIDTH_IN", "COLUMN_WIDTH_PX", "DPI", "FULL_WIDTH_IN", "FULL_WIDTH_PX", "PANEL_HEIGHT_IN",
    "TABLE_STYLES", "figsize", "format_table", "subplots", "use_book_style",
]
