r"""The :math:`(\alpha, \lambda)` sweep behind the playground, and its offline web chart.

A static web page has no kernel, so it cannot rerun a bandit when a slider moves.
Instead the book runs a small grid of exploration weights :math:`\alpha` and ridge
strengths :math:`\lambda` once, when it is built (:func:`run_sweep`), keeps the
cumulative-regret curves and the final regret of every run, and draws them as a
Vega-Lite chart whose sliders only *filter* those precomputed results in the browser
(:func:`plot_sweep`). :func:`offline_html` embeds the Vega libraries in the page
itself, so the chart works with the network off.

The agents of the playground are named in :data:`AGENT_KINDS`; every explorer and the
sweep build them through :class:`ConfiguredAgent`, one factory per
(kind, :math:`\alpha`, :math:`\lambda`, learning rate).

Taught in: chapters/03_8_playground.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_choice, check_float, check_int
from .agents import BanditAgent, LastLayerNeuralUCBAgent, LinUCBAgent, NeuralLinUCBAgent, NeuralUCBAgent
from .config import scaled
from .experiments import run_comparison
from .features import FEATURE_DIM
from .simulator import ZooplusSimulator

#: The draft's exploration weight, used as the default everywhere in the playground.
DEFAULT_ALPHA: float = 1.5
#: Default ridge strength :math:`\lambda` (:math:`A` starts at :math:`\lambda I`).
DEFAULT_LAMBDA: float = 1.0


@dataclass(frozen=True)
class AgentKind:
    """One agent of the playground: how to build it and its default learning rate.

    Attributes
    ----------
    name : str
        The name shown in the explorers and the sweep.
    build : callable
        ``build(alpha, lambda_, lr, seed, n_products) -> UCBAgent``.
    default_lr : float or None
        Adam learning rate used when none is given (``None``: the agent has no network).
    description : str
        One line on what the agent is.
    """

    name: str
    build: Callable[[float, float, float | None, int, int], BanditAgent] = field(repr=False)
    default_lr: float | None
    description: str


def _linucb(alpha: float, lambda_: float, lr: float | None, seed: int, n_products: int) -> BanditAgent:
    return LinUCBAgent(n_products, FEATURE_DIM, alpha=alpha, lambda_=lambda_, seed=seed)


def _neural_full(alpha: float, lambda_: float, lr: float | None, seed: int, n_products: int) -> BanditAgent:
    return NeuralUCBAgent(FEATURE_DIM, hidden_dims=(32, 16), lambda_=lambda_, alpha=alpha, lr=lr,
                          confidence="full", jacobian="analytic", seed=seed)


def _neural_diagonal(alpha: float, lambda_: float, lr: float | None, seed: int, n_products: int) -> BanditAgent:
    return NeuralUCBAgent(FEATURE_DIM, hidden_dims=(128, 64), lambda_=lambda_, alpha=alpha, lr=lr,
                          confidence="diagonal", jacobian="analytic", seed=seed)


def _last_layer(alpha: float, lambda_: float, lr: float | None, seed: int, n_products: int) -> BanditAgent:
    return LastLayerNeuralUCBAgent(FEATURE_DIM, hidden_dims=(128, 64), embedding_dim=64, lambda_=lambda_,
                                   alpha=alpha, lr=lr, seed=seed)


def _hybrid(alpha: float, lambda_: float, lr: float | None, seed: int, n_products: int) -> BanditAgent:
    return NeuralLinUCBAgent(n_products, FEATURE_DIM, hidden_dims=(128, 64), embedding_dim=32, lambda_=lambda_,
                             alpha=alpha, lr=lr, seed=seed)


#: The agents a reader can pick in the playground, by name. Learning rates are the draft's.
AGENT_KINDS: dict[str, AgentKind] = {kind.name: kind for kind in (
    AgentKind("LinUCB", _linucb, None, "disjoint LinUCB, one ridge regression per product"),
    AgentKind("NeuralUCB full (32, 16)", _neural_full, 1e-3,
              "NeuralUCB with the exact p x p confidence matrix on a small network (p = 865)"),
    AgentKind("NeuralUCB diagonal", _neural_diagonal, 1e-3,
              "NeuralUCB on the draft's [128, 64] network, diagonal confidence matrix"),
    AgentKind("Last-layer NeuralUCB", _last_layer, 1e-4, "confidence matrix over the 64-dim embeddings only"),
    AgentKind("Neural-LinUCB hybrid", _hybrid, 1e-4, "disjoint LinUCB on 32-dim learned embeddings"),
)}

#: Ranges accepted by the playground (the explorers' sliders span exactly these).
ALPHA_RANGE: tuple[float, float] = (0.0, 5.0)
LAMBDA_RANGE: tuple[float, float] = (0.01, 100.0)
LR_RANGE: tuple[float, float] = (1e-5, 1e-1)


def check_agent_kind(name: str, value: object) -> AgentKind:
    """Return the :class:`AgentKind` called ``value``; the message lists the names accepted."""
    return AGENT_KINDS[check_choice(name, value, tuple(AGENT_KINDS))]


def check_hyperparameters(alpha: object, lambda_: object, lr: object = None) -> tuple[float, float, float | None]:
    r"""Validate :math:`\alpha`, :math:`\lambda` and a learning rate against the playground's ranges."""
    alpha = check_float("alpha", alpha, minimum=ALPHA_RANGE[0], maximum=ALPHA_RANGE[1])
    lambda_ = check_float("lambda_", lambda_, minimum=LAMBDA_RANGE[0], maximum=LAMBDA_RANGE[1])
    if lr is not None:
        lr = check_float("lr", lr, minimum=LR_RANGE[0], maximum=LR_RANGE[1])
    return alpha, lambda_, lr


@dataclass(frozen=True)
class ConfiguredAgent:
    r"""A factory for :func:`~bandits_lib.experiments.run_comparison`: one kind, one setting.

    Called with a seed and the run's simulator, it builds a fresh agent of ``kind``
    with exploration weight ``alpha``, ridge ``lambda_`` and learning rate ``lr``
    (``None``: the kind's default). It is a plain picklable object, so runs can go to
    other processes.

    Examples
    --------
    >>> factory = ConfiguredAgent("LinUCB", alpha=0.5, lambda_=2.0)
    >>> agent = factory(seed=0, simulator=ZooplusSimulator(n_products=10))
    >>> agent.alpha, agent.lambda_, agent.n_arms
    (0.5, 2.0, 10)
    """

    kind: str
    alpha: float = DEFAULT_ALPHA
    lambda_: float = DEFAULT_LAMBDA
    lr: float | None = None

    def __post_init__(self) -> None:
        check_agent_kind("kind", self.kind)
        check_hyperparameters(self.alpha, self.lambda_, self.lr)

    @property
    def learning_rate(self) -> float | None:
        """The learning rate actually used (the kind's default when ``lr`` is None)."""
        return AGENT_KINDS[self.kind].default_lr if self.lr is None else self.lr

    def __call__(self, seed: int, simulator: ZooplusSimulator) -> BanditAgent:
        return AGENT_KINDS[self.kind].build(self.alpha, self.lambda_, self.learning_rate, seed,
                                            simulator.n_products)


# ---------------------------------------------------------------------- the sweep
#: Grid of the book's sweep at full scale and at smoke scale.
SWEEP_ALPHAS: tuple[float, ...] = scaled((0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), (0.0, 1.5, 3.0))
SWEEP_LAMBDAS: tuple[float, ...] = (0.1, 1.0, 10.0)
SWEEP_AGENTS: tuple[str, ...] = ("LinUCB", "Neural-LinUCB hybrid")
SWEEP_SEEDS: tuple[int, ...] = scaled((0, 1, 2), (0, 1))
#: Steps per run (full scale: the whole sweep fits the page's one-minute budget on 2 cores).
SWEEP_HORIZON: int = scaled(1000, 100)


@dataclass(frozen=True)
class SweepResult:
    r"""Everything the web chart needs from a sweep, and the grid that produced it.

    Attributes
    ----------
    curves : pandas.DataFrame
        Cumulative regret along the run, one row per (agent, alpha, lambda_, step):
        columns ``agent, alpha, lambda_, step, mean, low, high`` (mean, min and max over
        seeds) at ``n_points`` evenly spaced steps from 0 to the horizon.
    final : pandas.DataFrame
        One row per run: ``agent, alpha, lambda_, seed, regret`` (cumulative regret at
        the horizon).
    agents, alphas, lambdas, seeds : tuple
        The grid.
    horizon : int
        Steps per run.
    seconds : float
        Wall time of the sweep.
    """

    curves: pd.DataFrame
    final: pd.DataFrame
    agents: tuple[str, ...]
    alphas: tuple[float, ...]
    lambdas: tuple[float, ...]
    seeds: tuple[int, ...]
    horizon: int
    seconds: float

    @property
    def n_runs(self) -> int:
        """Number of runs played: agents x alphas x lambdas x seeds."""
        return len(self.final)

    def table(self) -> pd.DataFrame:
        """Final regret per setting: ``agent, alpha, lambda_, mean, std`` over seeds."""
        grouped = self.final.groupby(["agent", "alpha", "lambda_"], sort=False)["regret"]
        return grouped.agg(["mean", "std"]).reset_index()

    def best(self) -> pd.DataFrame:
        """Per agent, the setting with the lowest mean final regret, and the worst one.

        Columns: ``agent, best_alpha, best_lambda, best_regret, worst_alpha,
        worst_lambda, worst_regret, default_regret`` (at :data:`DEFAULT_ALPHA`,
        :data:`DEFAULT_LAMBDA` when that setting is on the grid, else NaN).
        """
        rows = []
        for agent, table in self.table().groupby("agent", sort=False):
            best, worst = table.loc[table["mean"].idxmin()], table.loc[table["mean"].idxmax()]
            default = table[np.isclose(table["alpha"], DEFAULT_ALPHA) & np.isclose(table["lambda_"], DEFAULT_LAMBDA)]
            rows.append({"agent": agent, "best_alpha": best["alpha"], "best_lambda": best["lambda_"],
                         "best_regret": best["mean"], "worst_alpha": worst["alpha"],
                         "worst_lambda": worst["lambda_"], "worst_regret": worst["mean"],
                         "default_regret": default["mean"].iloc[0] if len(default) else np.nan})
        return pd.DataFrame(rows)


def _check_grid(name: str, values: Sequence[float], bounds: tuple[float, float]) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    checked = tuple(check_float(f"{name}[{i}]", v, minimum=bounds[0], maximum=bounds[1])
                    for i, v in enumerate(values))
    if len(set(checked)) != len(checked):
        raise ValueError(f"{name} must not repeat a value, got {checked}")
    return tuple(sorted(checked))


def run_sweep(
    agents: Sequence[str] = SWEEP_AGENTS,
    alphas: Sequence[float] = SWEEP_ALPHAS,
    lambdas: Sequence[float] = SWEEP_LAMBDAS,
    seeds: Sequence[int] = SWEEP_SEEDS,
    horizon: int = SWEEP_HORIZON,
    n_points: int = 41,
    n_jobs: int | None = None,
) -> SweepResult:
    r"""Play every agent at every :math:`(\alpha, \lambda)` of the grid, for every seed.

    All runs of one seed meet the same users and clicks (common random numbers, see
    :func:`~bandits_lib.experiments.run_comparison`), so the differences across the
    grid are the hyperparameters' doing, not the dice's.

    Parameters
    ----------
    agents : sequence of str, default :data:`SWEEP_AGENTS`
        Names from :data:`AGENT_KINDS`.
    alphas, lambdas : sequence of float
        The grid (within :data:`ALPHA_RANGE` and :data:`LAMBDA_RANGE`).
    seeds : sequence of int, default :data:`SWEEP_SEEDS`
    horizon : int, default :data:`SWEEP_HORIZON`
        Steps per run.
    n_points : int, default 41
        Points kept per regret curve (the chart draws these).
    n_jobs : int, optional
        Processes (joblib), as in ``run_comparison``.

    Returns
    -------
    SweepResult
    """
    if isinstance(agents, str) or not isinstance(agents, Sequence) or len(agents) == 0:
        raise ValueError(f"agents must be a non-empty sequence of names from {tuple(AGENT_KINDS)}, got {agents!r}")
    agents = tuple(check_agent_kind(f"agents[{i}]", a).name for i, a in enumerate(agents))
    if len(set(agents)) != len(agents):
        raise ValueError(f"agents must not repeat a name, got {agents}")
    alphas = _check_grid("alphas", alphas, ALPHA_RANGE)
    lambdas = _check_grid("lambdas", lambdas, LAMBDA_RANGE)
    seeds = tuple(seeds)
    horizon = check_int("horizon", horizon, minimum=2)
    n_points = check_int("n_points", n_points, minimum=2)

    settings = {f"{kind} | alpha={a:g} | lambda={lam:g}": (kind, a, lam)
                for kind in agents for a in alphas for lam in lambdas}
    begin = time.perf_counter()
    df = run_comparison({name: ConfiguredAgent(*setting) for name, setting in settings.items()}, horizon,
                        seeds=seeds, n_jobs=n_jobs, progress=False)
    seconds = time.perf_counter() - begin

    # (settings, seeds, horizon) cube of per-step regret, whatever the table's row order.
    seed_index = pd.Index(seeds).get_indexer(df["seed"])
    order = np.lexsort((df["step"].to_numpy(), seed_index, df["agent"].cat.codes.to_numpy()))
    regret = df["regret"].to_numpy()[order].reshape(len(settings), len(seeds), horizon)
    cumulative = np.concatenate([np.zeros((len(settings), len(seeds), 1)), np.cumsum(regret, axis=2)], axis=2)
    steps = np.unique(np.linspace(0, horizon, n_points).round().astype(int))
    at = cumulative[:, :, steps]  # (settings, seeds, points)
    keys = pd.DataFrame(list(settings.values()), columns=["agent", "alpha", "lambda_"])
    curves = pd.DataFrame({
        "agent": np.repeat(keys["agent"].to_numpy(), len(steps)),
        "alpha": np.repeat(keys["alpha"].to_numpy(), len(steps)),
        "lambda_": np.repeat(keys["lambda_"].to_numpy(), len(steps)),
        "step": np.tile(steps, len(settings)),
        "mean": at.mean(axis=1).ravel(),
        "low": at.min(axis=1).ravel(),
        "high": at.max(axis=1).ravel(),
    })
    final = pd.DataFrame({
        "agent": np.repeat(keys["agent"].to_numpy(), len(seeds)),
        "alpha": np.repeat(keys["alpha"].to_numpy(), len(seeds)),
        "lambda_": np.repeat(keys["lambda_"].to_numpy(), len(seeds)),
        "seed": np.tile(np.asarray(seeds), len(settings)),
        "regret": cumulative[:, :, -1].ravel(),
    })
    return SweepResult(curves, final, agents, alphas, lambdas, tuple(int(s) for s in seeds), horizon, seconds)


# ---------------------------------------------------------------------- the chart
def plot_sweep(sweep: SweepResult, width: int = 560) -> Any:
    r"""The interactive sweep chart (an Altair chart; rendered in the browser by Vega-Lite).

    A slider for :math:`\alpha` and a drop-down for :math:`\lambda` select one cell of
    the grid; the top panel draws the cumulative-regret curves of that setting for
    every agent (mean over seeds, band from the best to the worst seed), with the
    default setting dashed; the bottom row shows, for each agent, the final regret over
    the whole grid as a heat map, the selected cell outlined. Nothing is recomputed in
    the browser: the controls only filter :attr:`SweepResult.curves` and
    :attr:`SweepResult.final`.

    ``width`` is the widest the chart gets (pixels of plot area). Drawn by
    :func:`offline_html`, it fits the width of the page: on a narrow screen (a phone)
    the panels shrink, the heat maps wrap onto rows of their own (they are a wrapping
    ``concat``), and the legends move below their plots.

    Returns
    -------
    altair.VConcatChart
    """
    import altair as alt

    if not isinstance(sweep, SweepResult):
        raise TypeError(f"sweep must be a SweepResult (from run_sweep), got {type(sweep).__name__}")
    alphas, lambdas = sweep.alphas, sweep.lambdas
    steps = np.diff(alphas)
    if len(alphas) > 1 and np.allclose(steps, steps[0]):
        alpha_binding = alt.binding_range(min=alphas[0], max=alphas[-1], step=float(steps[0]),
                                          name="exploration weight \u03b1 ")
    else:
        alpha_binding = alt.binding_select(options=list(alphas), name="exploration weight \u03b1 ")
    alpha_value = DEFAULT_ALPHA if DEFAULT_ALPHA in alphas else alphas[len(alphas) // 2]
    lambda_value = DEFAULT_LAMBDA if DEFAULT_LAMBDA in lambdas else lambdas[len(lambdas) // 2]
    alpha = alt.param(name="alpha", value=alpha_value, bind=alpha_binding)
    lam = alt.param(name="lam", value=lambda_value,
                    bind=alt.binding_select(options=list(lambdas), name="ridge \u03bb "))
    chosen = "abs(datum.alpha - alpha) < 1e-9 && abs(datum.lambda_ - lam) < 1e-9"
    default = f"abs(datum.alpha - {DEFAULT_ALPHA}) < 1e-9 && abs(datum.lambda_ - {DEFAULT_LAMBDA}) < 1e-9"

    curves = sweep.curves.round({"mean": 2, "low": 2, "high": 2})
    agent_scale = alt.Scale(domain=list(sweep.agents))
    color = alt.Color("agent:N", scale=agent_scale, title=None, legend=alt.Legend(orient="top", labelLimit=0))
    x = alt.X("step:Q", title="interaction (step)")
    base = alt.Chart(curves)
    band = base.mark_area(opacity=0.2).encode(x=x, y=alt.Y("low:Q"), y2="high:Q", color=color) \
        .transform_filter(chosen)
    line = base.mark_line(strokeWidth=2.5).encode(
        x=x, y=alt.Y("mean:Q", title="cumulative regret (expected clicks lost)"), color=color,
        tooltip=["agent:N", "alpha:Q", "lambda_:Q", "step:Q", alt.Tooltip("mean:Q", format=".1f")],
    ).transform_filter(chosen)
    reference = base.mark_line(strokeDash=[5, 4], strokeWidth=1.2).encode(
        x=x, y="mean:Q", color=color, detail="agent:N",
    ).transform_filter(default)
    label = base.mark_text(align="left", dx=4, fontSize=12).encode(
        x=x, y="mean:Q", color=color, text=alt.Text("mean:Q", format=".0f"),
    ).transform_filter(chosen).transform_filter(f"datum.step == {sweep.horizon}")
    top = alt.layer(band, line, reference, label).properties(
        width=width, height=260,
        title=alt.TitleParams(
            text=alt.expr("'Cumulative regret at \u03b1 = ' + alpha + ', \u03bb = ' + lam"),
            subtitle=[f"mean over {len(sweep.seeds)} seeds, band: best to worst seed;",
                      f"dashed: default \u03b1 = {DEFAULT_ALPHA:g}, \u03bb = {DEFAULT_LAMBDA:g}"],
            anchor="start",
        ),
    )

    table = sweep.table().round({"mean": 1, "std": 1})
    heat_width = max(120, (width - 60 * len(sweep.agents)) // len(sweep.agents))
    midpoint = float(table["mean"].min() + table["mean"].max()) / 2  # white labels on the darker half
    panels = []
    for agent in sweep.agents:
        cells = alt.Chart(table[table["agent"] == agent])
        encode = {"x": alt.X("alpha:O", title="\u03b1", axis=alt.Axis(labelAngle=0)),
                  "y": alt.Y("lambda_:O", title="\u03bb", sort="descending")}
        rect = cells.mark_rect().encode(
            **encode,
            color=alt.Color("mean:Q", scale=alt.Scale(scheme="orangered"), title="final regret",
                            legend=alt.Legend(orient="right")),
            tooltip=["alpha:Q", "lambda_:Q", alt.Tooltip("mean:Q", title="final regret (mean)"),
                     alt.Tooltip("std:Q", title="std over seeds")],
        )
        text = cells.mark_text(fontSize=10).encode(
            **encode, text=alt.Text("mean:Q", format=".0f"),
            color=alt.condition(f"datum.mean > {midpoint}", alt.value("white"), alt.value("black")),
        )
        outline = cells.mark_rect(fill=None, stroke="black", strokeWidth=3).encode(**encode) \
            .transform_filter(chosen)
        panels.append(alt.layer(rect, text, outline).properties(
            width=heat_width, height=40 * len(lambdas) + 20,
            title=alt.TitleParams(text=[agent, f"regret at step {sweep.horizon}"], anchor="start")))
    # A wrapping concat (not hconcat): offline_html sets its number of columns to what fits.
    heat_maps = alt.concat(*panels, columns=len(panels)).resolve_scale(color="shared")
    chart = alt.vconcat(top, heat_maps).properties(usermeta={"bandits_responsive": True})
    return chart.add_params(alpha, lam).configure_view(strokeWidth=0)


def _bundle_version() -> str | None:
    import altair as alt
    import vl_convert

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def offline_html(chart: Any, include_bundle: bool = True) -> Any:
    """HTML that draws ``chart`` with no network: the Vega libraries are in the page.

    ``vl_convert.javascript_bundle()`` (Vega, Vega-Lite and vega-embed, ~0.9 MB) is
    inlined once, wrapped in a function so that its names cannot clash with the page's
    own scripts; then ``vegaEmbed`` draws the chart (SVG renderer) into a ``div`` whose
    id is derived from the chart, and records the Vega view in
    ``window.banditsCharts[id]``.

    The chart fits its container: before drawing, every panel wider than the ``div``
    (less room for axes and legends) is narrowed, a wrapping ``concat`` gets as many
    columns as fit, and on a narrow screen legends at the side move below their plot
    and long horizontal legends wrap. When the window is resized so that the layout
    changes, the chart is drawn again with the controls' current values.

    Parameters
    ----------
    chart : altair chart or dict
        The chart, or its Vega-Lite specification.
    include_bundle : bool, default True
        Set False for a second chart on the same page (the first one brought the bundle).

    Returns
    -------
    IPython.display.HTML
    """
    import vl_convert
    from IPython.display import HTML

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    spec_json = json.dumps(spec, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    chart_id = "bandits-chart-" + hashlib.sha1(spec_json.encode()).hexdigest()[:12]
    # The browser side of offline_html (no URL in it: the page must not fetch anything).
    # PAD: room beside a panel's plot area for its axis labels, titles and a side legend.
    fit_js = r"""
  var PAD = 90, MIN_WIDTH = 120, NARROW = 600, view = null, drawn = '', timer = null;
  function fit(original, room) {
    var s = JSON.parse(JSON.stringify(original)), narrow = room < NARROW;
    function legends(node) {
      ['color', 'fill', 'stroke', 'opacity', 'size', 'shape'].forEach(function (channel) {
        var legend = node.encoding && node.encoding[channel] && node.encoding[channel].legend;
        if (!legend || !narrow) return;
        if (legend.orient === 'left' || legend.orient === 'right') legend.orient = 'bottom';
        if (legend.orient === 'top' || legend.orient === 'bottom') {
          legend.columns = Math.max(1, Math.floor(room / 170));
        }
      });
    }
    function visit(node, space) {
      if (!node || typeof node !== 'object') return;
      legends(node);
      (node.layer || []).forEach(function (child) { visit(child, space); });
      (node.vconcat || []).forEach(function (child) { visit(child, space); });
      (node.hconcat || []).forEach(function (child) {
        visit(child, Math.max(MIN_WIDTH + PAD, space / node.hconcat.length));
      });
      if (Array.isArray(node.concat)) {
        var cell = 0;
        node.concat.forEach(function (child) {
          cell = Math.max(cell, (typeof child.width === 'number' ? child.width : MIN_WIDTH) + PAD);
        });
        var columns = Math.max(1, Math.min(node.concat.length, Math.floor(space / cell)));
        node.columns = columns;
        node.concat.forEach(function (child) { visit(child, space / columns); });
      }
      if (typeof node.width === 'number' && node.width + PAD > space) {
        node.width = Math.max(MIN_WIDTH, Math.floor(space - PAD));
      }
    }
    visit(s, room);
    return s;
  }
  function draw() {
    var room = target.clientWidth || (target.parentNode && target.parentNode.clientWidth) || 0;
    var layout = room > 0 ? fit(spec, room) : spec;
    var key = JSON.stringify(layout);
    if (key === drawn) return;
    if (view) {  // keep what the reader chose
      (layout.params || []).forEach(function (param) {
        try { param.value = view.signal(param.name); } catch (error) { /* not a signal */ }
      });
      view.finalize();
    }
    drawn = key;
    window.vegaEmbed(target, layout, {actions: false, renderer: 'svg'}).then(function (result) {
      view = result.view;
      (window.banditsCharts = window.banditsCharts || {})[id] = result.view;
    }).catch(function (error) { target.textContent = 'Chart error: ' + error; });
  }
  draw();
  window.addEventListener('resize', function () {
    clearTimeout(timer);
    timer = setTimeout(draw, 200);
  });
"""
    parts = [f'<div id="{chart_id}" class="bandits-vega-chart"></div>']
    if include_bundle:
        bundle = vl_convert.javascript_bundle(vl_version=_bundle_version())
        parts.append(f"<script>if (!window.vegaEmbed) {{ (function () {{\n{bundle}\n}})(); }}</script>")
    parts.append(
        "<script>(function () {\n"
        f"  var spec = {spec_json};\n"
        f"  var id = '{chart_id}', target = document.getElementById(id);\n"
        "  if (!window.vegaEmbed) {\n"
        "    target.textContent = 'The chart needs the Vega libraries (offline_html).'; return;\n"
        "  }\n"
        + fit_js +
        "})();</script>"
    )
    return HTML("\n".join(parts))


__all__ = [
    "AGENT_KINDS", "AgentKind", "ConfiguredAgent", "DEFAULT_ALPHA", "DEFAULT_LAMBDA",
    "SWEEP_AGENTS", "SWEEP_ALPHAS", "SWEEP_HORIZON", "SWEEP_LAMBDAS", "SWEEP_SEEDS", "SweepResult",
    "check_agent_kind", "check_hyperparameters", "offline_html", "plot_sweep", "run_sweep",
]
