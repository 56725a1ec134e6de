r"""Live explorers for :math:`\alpha` and :math:`\lambda` (ipywidgets, in a running kernel).

Each explorer is a thin wrapper over a plotting function of this module:

* :func:`regret_explorer_figure` reruns a short simulation for one agent and one
  setting (agent, :math:`\alpha`, :math:`\lambda`, learning rate, horizon, seed,
  market shock on or off) and draws its cumulative regret and moving-average CTR next
  to a reference run at the default setting, and the oracle's CTR;
  :func:`regret_explorer` puts controls on it.
* :func:`bonus_explorer_figure` trains an agent for a number of steps and draws, for
  one user, each product's UCB score split into exploitation and exploration bonus,
  and how the bonus shrank as data accumulated; :func:`bonus_explorer` puts controls
  on it.

An explorer displays as the live widget in Jupyter. On a built book page, which has no
kernel behind the controls, the controls are hidden (by a style rule that only matches
the book's output containers) and the figure at the values given is shown with a note,
so a page never shows a slider that does nothing; renderers without widget support get
the figure as a PNG. Runs are cached, so going back to a setting already seen is instant.

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
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._validation import check_choice, check_int
from .config import scaled
from .experiments import play, run_comparison
from .features import FeatureBuilder
from .plotting import plot_cumulative_regret, plot_moving_ctr, plot_ucb_components
from .simulator import PERSONAS, InteractionStream, ZooplusSimulator
from .sweep import (
    AGENT_KINDS,
    ALPHA_RANGE,
    DEFAULT_ALPHA,
    DEFAULT_LAMBDA,
    LAMBDA_RANGE,
    LR_RANGE,
    ConfiguredAgent,
    check_agent_kind,
    check_hyperparameters,
)

#: Accepted horizons and seeds (the explorers' boxes span exactly these).
HORIZON_RANGE: tuple[int, int] = (10, 100_000)
SEED_RANGE: tuple[int, int] = (0, 1_000_000)
#: What the (disabled) learning-rate slider shows for an agent without a network.
_LR_PLACEHOLDER = 1e-3
#: Default horizon of the regret explorer (a rerun stays within seconds on a laptop CPU).
REGRET_HORIZON: int = scaled(1500, 200)
#: Default length of the bonus explorer's training run.
BONUS_MAX_STEPS: int = scaled(2000, 100)
#: Most training steps the bonus explorer accepts.
MAX_TRAINING_STEPS: int = 20_000


# ---------------------------------------------------------------------- validation
def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_common(agent: object, alpha: object, lambda_: object, lr: object, seed: object) -> dict[str, Any]:
    kind = check_agent_kind("agent", agent)
    alpha, lambda_, lr = check_hyperparameters(alpha, lambda_, lr)
    if lr is not None and kind.default_lr is None:
        raise ValueError(f"lr applies to agents with a network; {kind.name} has none, so lr must be None, got {lr}")
    seed = check_int("seed", seed, minimum=SEED_RANGE[0])
    if seed > SEED_RANGE[1]:
        raise ValueError(f"seed must be <= {SEED_RANGE[1]}, got {seed}")
    return {"agent": kind.name, "alpha": alpha, "lambda_": lambda_, "lr": lr, "seed": seed}


def check_regret_settings(agent: object = "LinUCB", alpha: object = DEFAULT_ALPHA, lambda_: object = DEFAULT_LAMBDA,
                          lr: object = None, horizon: object = None, seed: object = 0,
                          shock: object = False) -> dict[str, Any]:
    """Validate the settings of :func:`regret_explorer_figure`; return them normalised.

    Raises ``TypeError``/``ValueError`` naming the argument and the range expected.
    ``horizon=None`` becomes :data:`REGRET_HORIZON`.
    """
    values = _check_common(agent, alpha, lambda_, lr, seed)
    horizon = check_int("horizon", REGRET_HORIZON if horizon is None else horizon, minimum=HORIZON_RANGE[0])
    if horizon > HORIZON_RANGE[1]:
        raise ValueError(f"horizon must be <= {HORIZON_RANGE[1]}, got {horizon}")
    return {**values, "horizon": horizon, "shock": _check_bool("shock", shock)}


def training_checkpoints(max_steps: int) -> tuple[int, ...]:
    """The numbers of training steps the bonus explorer offers: 0, 10, 20, 50, ... up to ``max_steps``.

    >>> training_checkpoints(300)
    (0, 10, 20, 50, 100, 200, 300)
    """
    max_steps = check_int("max_steps", max_steps, minimum=1)
    ladder = [m * 10**e for e in range(1, 6) for m in (1, 2, 5)]
    return (0, *[c for c in ladder if c < max_steps], max_steps)


def check_bonus_settings(agent: object = "LinUCB", alpha: object = DEFAULT_ALPHA, lambda_: object = DEFAULT_LAMBDA,
                         lr: object = None, steps: object = None, persona: object = "new_puppy_parent",
                         seed: object = 0, max_steps: object = None) -> dict[str, Any]:
    """Validate the settings of :func:`bonus_explorer_figure`; return them normalised.

    ``max_steps=None`` becomes :data:`BONUS_MAX_STEPS`; ``steps`` must be one of
    :func:`training_checkpoints` (``None``: the checkpoint nearest a tenth of ``max_steps``).
    """
    values = _check_common(agent, alpha, lambda_, lr, seed)
    max_steps = check_int("max_steps", BONUS_MAX_STEPS if max_steps is None else max_steps, minimum=1)
    if max_steps > MAX_TRAINING_STEPS:
        raise ValueError(f"max_steps must be <= {MAX_TRAINING_STEPS}, got {max_steps}")
    checkpoints = training_checkpoints(max_steps)
    if steps is None:
        steps = min(checkpoints, key=lambda c: abs(c - max_steps / 10))
    steps = check_int("steps", steps, minimum=0)
    if steps not in checkpoints:
        raise ValueError(f"steps must be one of the checkpoints {checkpoints} (for max_steps={max_steps}), got {steps}")
    persona = check_choice("persona", persona, PERSONAS)
    return {**values, "steps": steps, "persona": persona, "max_steps": max_steps}


# ---------------------------------------------------------------------- cached runs
class _LRU(OrderedDict):
    """A small least-recently-used cache of runs (keys: hashable settings)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def fetch(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = compute()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


_RUNS = _LRU(32)
_TRAJECTORIES = _LRU(8)


def _run(agent: str, alpha: float, lambda_: float, lr: float | None, horizon: int, seed: int, shock: bool,
         progress: bool) -> pd.DataFrame:
    """One run (cached): the table of :func:`~bandits_lib.experiments.run_comparison`."""
    def compute() -> pd.DataFrame:
        return run_comparison({"run": ConfiguredAgent(agent, alpha, lambda_, lr)}, horizon,
                              market_shock_at=horizon // 2 if shock else None, seeds=[seed], n_jobs=1,
                              progress=progress)
    return _RUNS.fetch((agent, alpha, lambda_, lr, horizon, seed, shock), compute)


def _label(values: dict[str, Any]) -> str:
    lr = "" if values["lr"] is None else f", lr={values['lr']:.0e}"
    return f"\u03b1={values['alpha']:g}, \u03bb={values['lambda_']:g}{lr}"


def _figure(figure: Figure | None, figsize: tuple[float, float]) -> Figure:
    # Fixed margins (set by the callers) rather than a layout engine: a constrained layout
    # doubled the time to render the figure, which the reader waits for at every change.
    if figure is None:
        return Figure(figsize=figsize)
    if not isinstance(figure, Figure):
        raise TypeError(f"figure must be a matplotlib Figure or None, got {type(figure).__name__}")
    figure.clear()
    return figure


def regret_explorer_figure(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                           lr: float | None = None, horizon: int | None = None, seed: int = 0, shock: bool = False,
                           *, progress: bool = False, figure: Figure | None = None) -> Figure:
    r"""Regret and CTR of one agent at one setting, against the default setting and the oracle.

    Plays ``agent`` (a name from :data:`~bandits_lib.sweep.AGENT_KINDS`) with
    exploration weight :math:`\alpha`, ridge :math:`\lambda` and learning rate ``lr``
    for ``horizon`` steps, and the same agent at the default :math:`\alpha = 1.5,
    \lambda = 1` on the same users and clicks (common random numbers). With
    ``shock=True`` the market shock happens halfway.

    Parameters
    ----------
    agent : str, default "LinUCB"
    alpha : float in [0, 5], default 1.5
    lambda_ : float in [0.01, 100], default 1.0
    lr : float in [1e-5, 0.1] or None
        Adam learning rate of a neural agent (None: the agent's default; LinUCB: must be None).
    horizon : int in [10, 100000], optional
        Default :data:`REGRET_HORIZON` (1500 steps; 200 at smoke scale).
    seed : int, default 0
        Seed of the world (users, clicks) and of the agent.
    shock : bool, default False
    progress : bool, default False
        Show a progress bar while simulating.
    figure : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        Left: cumulative regret (``plot_cumulative_regret``); right: moving-average CTR
        with the oracle's (``plot_moving_ctr``).
    """
    values = check_regret_settings(agent, alpha, lambda_, lr, horizon, seed, shock)
    defaults = {**values, "alpha": DEFAULT_ALPHA, "lambda_": DEFAULT_LAMBDA, "lr": None}
    keys = ("agent", "alpha", "lambda_", "lr", "horizon", "seed", "shock")
    runs = {f"{values['agent']} ({_label(values)})": values}
    is_default = all(values[k] == defaults[k] for k in keys)
    if not is_default:
        runs[f"default ({_label(defaults)})"] = defaults
    frames = []
    for name, setting in runs.items():
        frame = _run(*(setting[k] for k in keys), progress=progress).copy()
        frame.attrs = {}
        frame["agent"] = name
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    df["agent"] = pd.Categorical(df["agent"], categories=list(runs))
    shock_at = values["horizon"] // 2 if values["shock"] else None
    df.attrs["market_shock_at"] = shock_at

    total = df.groupby("agent", observed=True)["regret"].sum()
    current = total.iloc[0]
    if is_default:
        regret_title = f"Regret at step {values['horizon']}: {current:.1f} (this is the default setting)"
    else:
        reference = total.iloc[1]
        change = (current - reference) / reference if reference > 0 else np.nan
        word = "less" if change < 0 else "more"
        regret_title = (f"Regret at step {values['horizon']}: {current:.1f}, "
                        f"{abs(change):.0%} {word} than the default's {reference:.1f}")
    window = max(10, min(500, values["horizon"] // 10))
    last = df[df["step"] >= values["horizon"] - window]
    ctr = last.groupby("agent", observed=True)["expected_reward"].mean().iloc[0]
    oracle = last[last["agent"] == df["agent"].cat.categories[0]]["oracle_reward"].mean()
    ctr_title = f"Last {window} steps: expected CTR {ctr:.3f} vs the oracle's {oracle:.3f}"

    fig = _figure(figure, (13, 4.8))
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.11, top=0.86, wspace=0.2)
    left, right = fig.subplots(1, 2)
    plot_cumulative_regret(df, ax=left, title=regret_title, shock_at=shock_at)
    plot_moving_ctr(df, window=window, ax=right, title=ctr_title, shock_at=shock_at)
    shock_text = f", market shock at step {shock_at}" if shock_at is not None else ""
    fig.suptitle(f"{values['agent']}, {values['horizon']} steps, seed {values['seed']}{shock_text}")
    return fig


# ---------------------------------------------------------------------- bonus
def ucb_trajectory(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                   lr: float | None = None, seed: int = 0, max_steps: int | None = None) -> dict[str, Any]:
    """Train one agent online for ``max_steps`` and record its UCB components on the way (cached).

    The agent (built as :class:`~bandits_lib.sweep.ConfiguredAgent` does) plays the
    simulated shop of ``seed``; at every checkpoint of :func:`training_checkpoints`
    its ``ucb_components`` are recorded for a user of every persona. Settings are
    checked as in :func:`check_bonus_settings`.

    Returns
    -------
    dict
        ``steps`` (tuple of checkpoints), ``exploitation`` and ``bonus`` (each a numpy
        array of shape (n_checkpoints, n_personas, n_products)) and ``products`` (the
        catalogue).
    """
    values = check_bonus_settings(agent, alpha, lambda_, lr, None, "new_puppy_parent", seed, max_steps)
    agent, alpha, lambda_, lr, seed, max_steps = (values[k] for k in ("agent", "alpha", "lambda_", "lr", "seed",
                                                                     "max_steps"))

    def compute() -> dict[str, Any]:
        simulator = ZooplusSimulator(seed=seed)
        bandit = ConfiguredAgent(agent, alpha, lambda_, lr)(seed=seed, simulator=simulator)
        stream = simulator.draw_stream(max_steps)
        matrices = FeatureBuilder(simulator.products, device=bandit.device).by_index
        checkpoints = training_checkpoints(max_steps)
        exploitation, bonus = [], []
        done = 0
        for target in checkpoints:
            if target > done:
                part = InteractionStream(stream.users[done:target], stream.personas[done:target],
                                         stream.uniforms[done:target])
                play(bandit, simulator, part)
                done = target
            pairs = [bandit.ucb_components(matrices[i]) for i in range(len(PERSONAS))]
            exploitation.append(np.stack([e.cpu().numpy() for e, _ in pairs]))
            bonus.append(np.stack([b.cpu().numpy() for _, b in pairs]))
        return {"steps": checkpoints, "exploitation": np.stack(exploitation), "bonus": np.stack(bonus),
                "products": simulator.products}
    return _TRAJECTORIES.fetch((agent, alpha, lambda_, lr, seed, max_steps), compute)


def bonus_explorer_figure(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                          lr: float | None = None, steps: int | None = None, persona: str = "new_puppy_parent",
                          seed: int = 0, max_steps: int | None = None, *,
                          figure: Figure | None = None) -> Figure:
    r"""Exploitation and exploration bonus per product for one user, after ``steps`` of training.

    The agent is trained online on the simulated shop (users and clicks of ``seed``)
    for ``max_steps`` steps; at each checkpoint (:func:`training_checkpoints`) its
    :meth:`~bandits_lib.agents.base.UCBAgent.ucb_components` are recorded for a user of
    every persona. Left: the UCB score of every product for a ``persona`` user after
    ``steps`` steps (``plot_ucb_components``); right: that user's mean and largest
    bonus over the products at every checkpoint, which shrink as :math:`A` accumulates
    data (:math:`\alpha\sqrt{x^\top A^{-1}x}`).

    Parameters
    ----------
    agent, alpha, lambda_, lr, seed
        As for :func:`regret_explorer_figure`.
    steps : int, optional
        One of ``training_checkpoints(max_steps)``; default: the one nearest ``max_steps / 10``.
    persona : str, default "new_puppy_parent"
        One of ``PERSONAS``.
    max_steps : int, optional
        Length of the training run; default :data:`BONUS_MAX_STEPS` (2000; 100 at smoke scale).
    figure : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = check_bonus_settings(agent, alpha, lambda_, lr, steps, persona, seed, max_steps)
    run = ucb_trajectory(values["agent"], values["alpha"], values["lambda_"], values["lr"], values["seed"],
                      values["max_steps"])
    at = run["steps"].index(values["steps"])
    who = PERSONAS.index(values["persona"])
    exploitation, bonus = run["exploitation"][at, who], run["bonus"][at, who]
    categories = run["products"]["category"].tolist()
    labels = [f"{i} {c}" for i, c in enumerate(categories)]
    chosen = int(np.argmax(exploitation + bonus))

    fig = _figure(figure, (13, 5.6))
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.25, top=0.84, wspace=0.22)
    left, right = fig.subplots(1, 2, width_ratios=(2.2, 1))
    plot_ucb_components(exploitation, bonus, labels=labels, ax=left,
                        title=(f"A {values['persona']} after {values['steps']} steps: product {chosen} "
                               f"({categories[chosen]}), bonus {bonus[chosen]:.3f}"))
    steps_axis = np.asarray(run["steps"])
    mean_bonus = run["bonus"][:, who].mean(axis=1)
    max_bonus = run["bonus"][:, who].max(axis=1)
    right.plot(steps_axis, mean_bonus, marker="o", label="mean over products")
    right.plot(steps_axis, max_bonus, marker=".", linestyle="--", label="largest")
    right.axvline(values["steps"], color="black", linewidth=1, label=f"shown: {values['steps']} steps")
    right.set_xscale("symlog", linthresh=10)
    right.set_xlim(0, steps_axis.max() * 1.1)  # no negative side on a count of steps
    right.set_xlabel("training steps (interactions)")
    right.set_ylabel("exploration bonus (CTR units)")
    first, last = mean_bonus[0], mean_bonus[-1]
    trend = "fell" if last < first else "rose"
    right.set_title(f"Mean bonus {trend} from {first:.3f}\nto {last:.3f} in {values['max_steps']} steps")
    right.grid(True, alpha=0.3)
    right.legend(fontsize="small")
    fig.suptitle(f"{values['agent']} ({_label(values)}), seed {values['seed']}")
    return fig


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


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    return buffer.getvalue()


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
    controls : dict of ipywidgets
    widget : ipywidgets.VBox
        Controls, a status line (rejected values are reported there) and the figure.
    """

    def __init__(self, figure_function: Callable[..., Figure], check: Callable[..., dict], values: dict,
                 controls: Callable[[Any, dict], dict], progress: bool = False) -> None:
        import ipywidgets as widgets

        self._figure_function, self._check, self._progress = figure_function, check, progress
        self.values = check(**values)
        self.controls = controls(widgets, self.values)
        self.status = widgets.HTML(value="")
        self.output = widgets.Output()
        boxes = list(self.controls.values())
        rows = [widgets.HBox(boxes[i:i + 3]).add_class("bandits-live-only") for i in range(0, len(boxes), 3)]
        self.status.add_class("bandits-live-only")
        static_note = widgets.HTML(value=_STATIC_NOTE).add_class("bandits-static-only")
        self.widget = widgets.VBox([widgets.HTML(value=_STATIC_CSS), static_note, *rows, self.status, self.output])
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
        self._show()
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

    def _show(self) -> None:
        self._png = _png(self.figure)
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is None:  # no front end to show it in (plain Python, tests)
            return
        self.output.clear_output(wait=True)
        with self.output:
            display(Image(data=self._png, format="png"))

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

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(self._png).decode("ascii")
        bundle["text/plain"] = repr(self)
        return bundle

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
    ``"LinUCB"``, ``"NeuralUCB full (32, 16)"``, ``"NeuralUCB diagonal"``,
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


__all__ = [
    "BONUS_MAX_STEPS", "BonusExplorer", "Explorer", "REGRET_HORIZON", "RegretExplorer",
    "bonus_explorer", "bonus_explorer_figure", "check_bonus_settings", "check_regret_settings",
    "regret_explorer", "regret_explorer_figure", "training_checkpoints", "ucb_trajectory",
]
