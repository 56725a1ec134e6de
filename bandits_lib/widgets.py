r"""Live explorers for :math:`\alpha` and :math:`\lambda` (ipywidgets, in a running kernel).

Each explorer is a thin wrapper over a figure function of :mod:`bandits_lib.plotting`,
whose runs come from :mod:`bandits_lib.playground`:

* :func:`regret_explorer_figure` reruns a short simulation for one agent and one
  setting (agent, :math:`\alpha`, :math:`\lambda`, learning rate, horizon, seed,
  market shock on or off) and draws its cumulative regret and moving-average CTR
  (stacked) with a reference run at the default setting, and the oracle's CTR;
  :func:`regret_explorer` puts controls on it.
* :func:`bonus_explorer_figure` trains an agent for a number of steps and draws, for
  one user, each product's UCB score split into exploitation and exploration bonus,
  and how the bonus shrank as data accumulated; :func:`bonus_explorer` puts controls
  on it.

An explorer displays as the live widget in Jupyter. On a built book page, which has no
kernel behind the controls, the controls are hidden (by a style rule that only matches
the book's output containers) and the figure at the values given is shown with a note,
so a page never shows a slider that does nothing; renderers without widget support get
the figure as a PNG. The figure is an ``<img>`` one content column wide whose alt text
says what it shows (the figure function's ``alt_text``). Runs are cached, so going back
to a setting already seen is instant.

On a book page, give the explorer's figure a number and a caption with the code cell's
metadata (myst-nb wraps the cell's output in a figure)::

    "metadata": {"mystnb": {"figure": {"name": "fig-ch-explorer",
                                       "caption": "What is plotted, at which settings."}}}

and refer to it with ``{numref}`fig-ch-explorer```.

Examples
--------
>>> explorer = regret_explorer(agent="LinUCB", horizon=50)  # doctest: +SKIP
>>> explorer.update(alpha=0.5)  # what moving the slider does  # doctest: +SKIP

Taught in: chapters/03_8_playground.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .envs.simulator import PERSONAS
from .playground import (
    AGENT_KINDS,
    ALPHA_RANGE,
    DEFAULT_ALPHA,
    DEFAULT_LAMBDA,
    HORIZON_RANGE,
    LAMBDA_RANGE,
    LR_RANGE,
    SEED_RANGE,
    check_bonus_settings,
    check_regret_settings,
    training_checkpoints,
)
from .plotting import bonus_explorer_figure, regret_explorer_figure
from .style import DPI

#: What the (disabled) learning-rate slider shows for an agent without a network.
_LR_PLACEHOLDER = 1e-3


# ---------------------------------------------------------------------- explorers
# A built book page (Sphinx / myst-nb wraps outputs in ``div.cell_output.docutils``) has no
# kernel behind the controls: there they are hidden and a note says where they work. In
# Jupyter no ancestor has those classes, so the rules do nothing.
_STATIC_CSS = """<style>
.bandits-static-only { display: none !important; }
.cell_output.docutils .bandits-live-only { display: none !important; }
.cell_output.docutils .bandits-static-only { display: block !important; }
</style>"""
_STATIC_NOTE = ("<em>The figure at the settings given in the code. Its controls need a running Python kernel: "
                "open this page as a notebook (launch or download button at the top) to use them.</em>")


#: Pixels per CSS pixel of the explorers' PNGs (sharp on high-density screens, as the
#: book's other figures: see :func:`bandits_lib.style.use_book_style`).
_PNG_SCALE = 2


def _png(figure: Figure) -> tuple[bytes, int]:
    """The figure as a PNG at :data:`_PNG_SCALE` x, and its width in CSS pixels (one column)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_PNG_SCALE * DPI, bbox_inches="tight", pad_inches=0.05)
    data = buffer.getvalue()
    width_px = int.from_bytes(data[16:20], "big")  # the IHDR chunk: width, then height
    return data, round(width_px / _PNG_SCALE)


def _alt_text(figure: Figure) -> str:
    return str(getattr(figure, "alt_text", "") or "A figure of the explorer at the settings given in the code.")


def _img_html(png: bytes, width: int, alt: str) -> str:
    """An ``<img>`` carrying the figure, its alt text and its CSS width (shrinks on a narrow screen)."""
    source = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{source}" alt="{html.escape(alt, quote=True)}" width="{width}" '
            f'style="max-width: 100%; height: auto;">')


class Explorer:
    """Controls over a figure function; the figure is redrawn whenever a control moves.

    Parameters
    ----------
    figure_function : callable
        ``figure_function(**values, figure=None) -> Figure`` (validates its arguments).
    check : callable
        ``check(**values) -> dict`` of normalised values (raises on bad values).
    values : dict
        Initial settings.
    controls : callable
        ``controls(ipywidgets, values) -> dict`` of name -> widget, one per setting.

    Attributes
    ----------
    values : dict
        The settings of the figure on display.
    figure : matplotlib.figure.Figure
        The figure on display.
    alt_text : str
        What the figure shows, in words (its ``alt_text``): the alt text of its image.
    controls : dict of ipywidgets
    widget : ipywidgets.VBox
        Controls, a status line (rejected values are reported there), an output area
        (progress bars) and the figure (an HTML widget holding an ``<img>`` one content
        column wide, with the alt text).
    """

    def __init__(self, figure_function: Callable[..., Figure], check: Callable[..., dict], values: dict,
                 controls: Callable[[Any, dict], dict], progress: bool = False) -> None:
        import ipywidgets as widgets

        self._figure_function, self._check, self._progress = figure_function, check, progress
        self.values = check(**values)
        self.controls = controls(widgets, self.values)
        self.status = widgets.HTML(value="")
        self.output = widgets.Output()  # progress bars while a run is recomputed
        self.picture = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        boxes = list(self.controls.values())
        rows = [widgets.HBox(boxes[i:i + 3]).add_class("bandits-live-only") for i in range(0, len(boxes), 3)]
        self.status.add_class("bandits-live-only")
        static_note = widgets.HTML(value=_STATIC_NOTE).add_class("bandits-static-only")
        self.widget = widgets.VBox([widgets.HTML(value=_STATIC_CSS), static_note, *rows, self.status, self.output,
                                    self.picture])
        self._syncing = False
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_change(name, change), names="value")
        self.figure = self._draw(self.values, live=False)
        self._sync_controls()
        self._show()

    # ------------------------------------------------------------------ public
    def update(self, **changes: Any) -> Figure:
        """Redraw with some settings changed (what moving a control does); return the new figure.

        Values are checked first: a bad value raises ``TypeError``/``ValueError`` naming
        the setting, and the explorer (settings, figure, controls) stays as it was.
        Changing ``agent`` without giving ``lr`` resets ``lr`` to that agent's default.
        """
        unknown = sorted(set(changes) - set(self.values))
        if unknown:
            raise TypeError(f"unknown setting(s) {unknown}; settings are {sorted(self.values)}")
        merged = {**self.values, **changes}
        if "agent" in changes and "lr" not in changes and changes["agent"] != self.values["agent"]:
            merged["lr"] = None
        values = self._check(**merged)
        figure = self._draw(values, live=True)
        self.values, self.figure = values, figure
        self.status.value = ""
        self._sync_controls()
        self._show(live=True)
        return figure

    # ------------------------------------------------------------------ internals
    def _draw(self, values: dict, live: bool) -> Figure:
        """The figure for ``values``; while live, a progress bar, if any, shows in the output area.

        The first figure (drawn when the explorer is built, which is all a static page
        shows) is drawn without the output area and without a progress bar: a book build
        has no front end to show them, only a kernel to flood with widget messages.
        """
        if not live:
            return self._figure_function(**values)
        extra = {"progress": True} if self._progress else {}
        failure = None
        with self.output:  # the context would swallow an exception: carry it out by hand
            try:
                figure = self._figure_function(**values, **extra)
            except Exception as error:  # noqa: BLE001 - re-raised below
                failure = error
        if failure is not None:
            raise failure
        return figure

    def _show(self, live: bool = False) -> None:
        """Put the figure on display: an ``<img>`` with the figure's alt text, one column wide.

        An HTML widget rather than an image output, so that the image carries its alt text
        and its CSS width on a built page as well as in Jupyter.
        """
        self._png, self._width = _png(self.figure)
        self.alt_text = _alt_text(self.figure)
        self.picture.value = _img_html(self._png, self._width, self.alt_text)
        if live:  # the progress bar of the run just drawn has done its job
            self.output.clear_output()

    def _on_change(self, name: str, change: dict) -> None:
        if self._syncing:
            return
        try:
            self.update(**{name: change["new"]})
        except (TypeError, ValueError) as error:
            self.status.value = f'<span style="color:#b00020">Not applied: {html.escape(str(error))}</span>'
            self._sync_controls()

    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            for name, control in self.controls.items():
                value = self.values[name]
                if name == "steps":
                    options = training_checkpoints(self.values["max_steps"])
                    if tuple(control.options) != options:
                        control.options = options
                if name == "lr":
                    kind = AGENT_KINDS[self.values["agent"]]
                    control.disabled = kind.default_lr is None
                    value = value if value is not None else (kind.default_lr or _LR_PLACEHOLDER)
                if control.value != value:
                    control.value = value
        finally:
            self._syncing = False

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget, and for renderers without widgets the figure as a PNG of its CSS width."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(self._png).decode("ascii")
        bundle["text/plain"] = repr(self)
        return bundle, {"image/png": {"width": self._width}}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({settings})"


def _hyperparameter_controls(widgets: Any, values: dict, agents: list[str]) -> dict[str, Any]:
    style = {"description_width": "initial"}
    kind = AGENT_KINDS[values["agent"]]
    return {
        "agent": widgets.Dropdown(options=agents, value=values["agent"], description="agent", style=style),
        "alpha": widgets.FloatSlider(value=values["alpha"], min=ALPHA_RANGE[0], max=ALPHA_RANGE[1], step=0.1,
                                     description="\u03b1 (exploration)", continuous_update=False, style=style),
        "lambda_": widgets.FloatLogSlider(value=values["lambda_"], base=10, min=np.log10(LAMBDA_RANGE[0]),
                                          max=np.log10(LAMBDA_RANGE[1]), step=0.1, description="\u03bb (ridge)",
                                          continuous_update=False, style=style),
        "lr": widgets.FloatLogSlider(value=values["lr"] or kind.default_lr or _LR_PLACEHOLDER, base=10,
                                     min=np.log10(LR_RANGE[0]), max=np.log10(LR_RANGE[1]), step=0.25,
                                     readout_format=".1e", description="learning rate",
                                     continuous_update=False, style=style),
    }


class RegretExplorer(Explorer):
    """Controls over :func:`regret_explorer_figure` (see :func:`regret_explorer`)."""

    def __init__(self, **settings: Any) -> None:
        def controls(widgets: Any, values: dict) -> dict[str, Any]:
            style = {"description_width": "initial"}
            return {
                **_hyperparameter_controls(widgets, values, list(AGENT_KINDS)),
                "horizon": widgets.BoundedIntText(value=values["horizon"], min=HORIZON_RANGE[0],
                                                  max=HORIZON_RANGE[1], step=500, description="horizon (steps)",
                                                  style=style),
                "seed": widgets.BoundedIntText(value=values["seed"], min=SEED_RANGE[0], max=SEED_RANGE[1],
                                               description="seed", style=style),
                "shock": widgets.Checkbox(value=values["shock"], description="market shock halfway"),
            }

        super().__init__(regret_explorer_figure, check_regret_settings, settings, controls, progress=True)


class BonusExplorer(Explorer):
    """Controls over :func:`bonus_explorer_figure` (see :func:`bonus_explorer`)."""

    def __init__(self, **settings: Any) -> None:
        def controls(widgets: Any, values: dict) -> dict[str, Any]:
            style = {"description_width": "initial"}
            return {
                **_hyperparameter_controls(widgets, values, list(AGENT_KINDS)),
                "steps": widgets.SelectionSlider(options=training_checkpoints(values["max_steps"]),
                                                 value=values["steps"], description="training steps",
                                                 continuous_update=False, style=style),
                "persona": widgets.Dropdown(options=list(PERSONAS), value=values["persona"], description="user",
                                            style=style),
                "seed": widgets.BoundedIntText(value=values["seed"], min=SEED_RANGE[0], max=SEED_RANGE[1],
                                               description="seed", style=style),
            }

        super().__init__(bonus_explorer_figure, check_bonus_settings, settings, controls)


def regret_explorer(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                    lr: float | None = None, horizon: int | None = None, seed: int = 0,
                    shock: bool = False) -> RegretExplorer:
    r"""Explore :math:`\alpha`, :math:`\lambda` and the learning rate of one agent, live.

    One line in a notebook: ``regret_explorer(agent="LinUCB")``. Sliders for
    :math:`\alpha` and :math:`\lambda`, a learning-rate slider (neural agents), the
    agent, the horizon, the seed and the market shock; every change reruns the
    simulation (with a progress bar) and redraws :func:`regret_explorer_figure`: the
    cumulative regret and moving-average CTR of the chosen setting, of the default
    setting (:math:`\alpha = 1.5, \lambda = 1`) on the same users and clicks, and the
    oracle's CTR. On a static page it shows that figure at the values given.

    Parameters are those of :func:`regret_explorer_figure`; ``agent`` is one of
    ``"LinUCB"``, ``"NeuralUCB (exact, online, 32x16)"``, ``"NeuralUCB (diagonal, online, 128x64)"``,
    ``"Last-layer NeuralUCB"``, ``"Neural-LinUCB hybrid"``.

    Returns
    -------
    RegretExplorer
        Displays as the widget; ``.update(alpha=...)`` does what the slider does.
    """
    return RegretExplorer(agent=agent, alpha=alpha, lambda_=lambda_, lr=lr, horizon=horizon, seed=seed, shock=shock)


def bonus_explorer(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                   lr: float | None = None, steps: int | None = None, persona: str = "new_puppy_parent",
                   seed: int = 0, max_steps: int | None = None) -> BonusExplorer:
    r"""Explore the exploration bonus: per product, for one user, as training data accumulate.

    One line in a notebook: ``bonus_explorer()``. Sliders for :math:`\alpha`,
    :math:`\lambda`, the learning rate and the number of training steps, a choice of
    agent and user persona; redraws :func:`bonus_explorer_figure`. Moving the steps
    slider is instant (every checkpoint is recorded in one training run); changing
    :math:`\alpha`, :math:`\lambda`, the agent or the seed retrains.

    Returns
    -------
    BonusExplorer
    """
    return BonusExplorer(agent=agent, alpha=alpha, lambda_=lambda_, lr=lr, steps=steps, persona=persona, seed=seed,
                         max_steps=max_steps)


__all__ = ["Explorer", "RegretExplorer", "BonusExplorer", "regret_explorer", "bonus_explorer"]
