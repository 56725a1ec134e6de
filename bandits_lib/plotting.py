r"""Figures of the book: cumulative regret with a band over seeds, moving-average CTR, UCB scores,
and the figures behind the live explorers.

Every ``plot_*`` function draws on a given matplotlib ``Axes`` (or a new one, one content
column wide, :func:`bandits_lib.style.subplots`) and returns it; the explorer figures
(``*_explorer_figure``) return a whole ``Figure``, one content column wide with stacked
panels, so the widgets of :mod:`bandits_lib.widgets` and the static pages draw the very
same figure. An explorer figure carries a one-sentence description of what it shows in
its ``alt_text`` attribute (the alt text of its image on a page).

Taught in: chapters/02_linucb, chapters/03_6_showdown, chapters/03_8_playground.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .envs.simulator import PERSONAS
from .experiments import cumulative_regret, moving_average
from .playground import (
    DEFAULT_ALPHA,
    DEFAULT_LAMBDA,
    check_bonus_settings,
    check_regret_settings,
    run_setting,
    ucb_trajectory,
)
from .style import COLUMN_WIDTH_IN, subplots


def _axes(ax: Axes | None) -> Axes:
    """The given Axes, or one panel of a new figure sized for the content column."""
    if ax is None:
        _, ax = subplots()
    return ax


def _colors(names: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _place_legend(ax: Axes, legend: bool | str, default_loc: str) -> None:
    if legend is True:
        ax.legend(loc=default_loc)
    elif isinstance(legend, str):
        ax.legend(loc=legend)
    elif legend is not False:
        raise TypeError(f"legend must be True, False or a legend location, got {legend!r}")


def plot_cumulative_regret(df: pd.DataFrame, ax: Axes | None = None, title: str | None = None,
                           shock_at: int | None = None, band: str = "std", legend: bool | str = True) -> Axes:
    """Mean cumulative regret over seeds per agent, with a band.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`~bandits_lib.experiments.run_comparison`.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure one content column wide.
    title : str, optional
        A short label for the panel (the finding belongs in the caption).
    shock_at : int, optional
        Step of the market shock (default: ``df.attrs["market_shock_at"]``), drawn as a line.
    band : {"std", "minmax"}
        Band of one standard deviation around the mean, or min-max over seeds.
    legend : bool or str, default True
        ``True``: a legend in the upper left corner (the curves start at zero and rise, so
        that corner is free); a string: that legend location; ``False``: none (e.g. for a
        figure legend made by the caller).
    """
    ax = _axes(ax)
    curves = cumulative_regret(df)
    names = [str(a) for a in df["agent"].unique()]
    colors = _colors(names)
    for name in names:
        wide = curves[curves["agent"] == name].pivot(index="step", columns="seed", values="cumulative_regret")
        mean = wide.mean(axis=1)
        if band == "minmax":
            low, high = wide.min(axis=1), wide.max(axis=1)
        else:
            spread = wide.std(axis=1).fillna(0.0)
            low, high = mean - spread, mean + spread
        ax.plot(mean.index, mean.to_numpy(), color=colors[name],
                label=f"{name} ({wide.shape[1]} seed{'' if wide.shape[1] == 1 else 's'})")
        ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), color=colors[name], alpha=0.2, linewidth=0)
    if shock_at is None:
        shock_at = df.attrs.get("market_shock_at")
    if shock_at is not None:
        ax.axvline(shock_at, color="crimson", linestyle="--", label="market shock")
    ax.set_xlabel("interaction (step)")
    ax.set_ylabel("cumulative regret\n(expected clicks lost)")
    ax.set_title(title or "Cumulative regret against the oracle")
    ax.grid(True, alpha=0.3)
    _place_legend(ax, legend, "upper left")
    return ax


def plot_moving_ctr(df: pd.DataFrame, window: int = 500, ax: Axes | None = None, title: str | None = None,
                    shock_at: int | None = None, show_oracle: bool = True, legend: bool | str = True) -> Axes:
    """Moving-average CTR (mean over seeds) per agent, with the oracle's for reference.

    ``legend=True`` puts the legend in the lower right corner (the curves start low and
    rise towards the oracle's); a string names another location, ``False`` draws none.
    Other parameters as for :func:`plot_cumulative_regret`.
    """
    ax = _axes(ax)
    names = [str(a) for a in df["agent"].unique()]
    colors = _colors(names)
    for name in names:
        runs = df[df["agent"] == name].pivot(index="step", columns="seed", values="reward")
        curve = moving_average(runs.mean(axis=1), window)
        ax.plot(runs.index, curve, color=colors[name], label=name)
    if show_oracle:
        oracle = df[df["agent"] == names[0]].pivot(index="step", columns="seed", values="oracle_reward").mean(axis=1)
        ax.plot(oracle.index, moving_average(oracle, window), color="black", linestyle=":", label="oracle (expected)")
    if shock_at is None:
        shock_at = df.attrs.get("market_shock_at")
    if shock_at is not None:
        ax.axvline(shock_at, color="crimson", linestyle="--", label="market shock")
    ax.set_xlabel("interaction (step)")
    ax.set_ylabel(f"CTR, moving average\nover {window:,} steps")
    ax.set_title(title or "Click-through rate over time")
    ax.grid(True, alpha=0.3)
    _place_legend(ax, legend, "lower right")
    return ax


def plot_ucb_components(exploitation: np.ndarray, bonus: np.ndarray, labels: list[str] | None = None,
                        ax: Axes | None = None, title: str | None = None, *,
                        categories: list[str] | None = None) -> Axes:
    """Stacked bars of exploitation and exploration bonus per arm (the UCB score's two terms).

    The arm with the highest score (the one UCB plays) is outlined and marked with its
    number. Bars are drawn in arm order (``ax.containers[0]`` holds the exploitation
    bars, ``[1]`` the bonus bars, arm ``a`` at index ``a``).

    Parameters
    ----------
    exploitation, bonus : array_like, shape (n_arms,)
        The estimated reward and the exploration bonus of every arm.
    labels : list of str, optional
        A tick label per arm (for a few arms; with more than 25 only every k-th is shown
        so that the labels stay legible). Ignored when ``categories`` is given.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure one content column wide.
    title : str, optional
        A short label for the panel.
    categories : list of str, optional
        The category of every arm: the bars are grouped in blocks by category (in order
        of first appearance), with one tick label per block, so that 50 products stay
        legible in one column (blocks in alphabetical order).
    """
    ax = _axes(ax)
    exploitation, bonus = np.asarray(exploitation, dtype=float), np.asarray(bonus, dtype=float)
    if exploitation.shape != bonus.shape or exploitation.ndim != 1:
        raise ValueError(f"exploitation and bonus must be 1-d arrays of one length, got shapes "
                         f"{exploitation.shape} and {bonus.shape}")
    n = len(exploitation)
    if categories is not None:
        categories = [str(c) for c in categories]
        if len(categories) != n:
            raise ValueError(f"categories must name one category per arm ({n}), got {len(categories)}")
        blocks = sorted(set(categories))
        order = sorted(range(n), key=lambda a: (blocks.index(categories[a]), a))
        position = np.empty(n)
        gap = max(1.0, n / 40)
        for rank, arm in enumerate(order):
            position[arm] = rank + gap * blocks.index(categories[arm])
    else:
        position = np.arange(n, dtype=float)
    ax.bar(position, exploitation, width=0.8, label="exploitation (estimated reward)", color="tab:blue")
    ax.bar(position, bonus, width=0.8, bottom=exploitation, label="exploration bonus", color="tab:orange",
           alpha=0.8)
    total = exploitation + bonus
    best = int(np.argmax(total))
    ax.bar([position[best]], [total[best]], width=0.8, fill=False, edgecolor="black", linewidth=1.5,
           label="chosen arm (highest score)")
    top = float(max(total.max(), exploitation.max(), 0.0))
    bottom = float(min(exploitation.min(), 0.0))
    span = (top - bottom) or 1.0
    ax.annotate(str(best), (position[best], total[best]), xytext=(0, 2), textcoords="offset points",
                ha="center", va="bottom", fontsize=9)
    # Head room for the legend above the tallest bar.
    ax.set_ylim(bottom - (0.02 * span if bottom < 0 else 0.0), top + 0.42 * span)
    if categories is not None:
        centres = [np.mean([position[a] for a in range(n) if categories[a] == block]) for block in blocks]
        wrap = len(blocks) > 6  # many blocks: long names on two lines
        ax.set_xticks(centres, [block.replace(" ", "\n", 1) if wrap and len(block) > 10 else block
                                for block in blocks])
        ax.tick_params(axis="x", length=0)
        ax.set_xlabel(f"product (arm), grouped by category; {n} products")
    else:
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) != n:
                raise ValueError(f"labels must give one label per arm ({n}), got {len(labels)}")
            every = int(np.ceil(n / 25))
            shown = list(range(0, n, every))
            ax.set_xticks(position[shown], [labels[a] for a in shown],
                          rotation=90 if max(map(len, labels)) > 3 else 0)
        ax.set_xlabel("product (arm)")
    ax.grid(False, axis="x")
    ax.set_ylabel("UCB score")
    ax.set_title(title or "UCB score = exploitation + exploration bonus")
    ax.legend(loc="upper center", ncols=3 if ax.figure.get_figwidth() >= 6 else 1, fontsize=9,
              handlelength=1.2, columnspacing=1.0)
    return ax


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
    figure.set_size_inches(*figsize)
    return figure


def _margins(figure: Figure, top_in: float, bottom_in: float = 0.5, left_in: float = 0.95,
             right_in: float = 0.12, hspace_in: float = 0.75) -> None:
    """Fixed margins in inches (the figure's size does not depend on its text)."""
    width, height = figure.get_size_inches()
    panel_rows = len(figure.axes) or 2
    panel = (height - top_in - bottom_in - hspace_in * (panel_rows - 1)) / panel_rows
    figure.subplots_adjust(left=left_in / width, right=1 - right_in / width, bottom=bottom_in / height,
                           top=1 - top_in / height, hspace=hspace_in / panel)


def regret_explorer_figure(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                           lr: float | None = None, horizon: int | None = None, seed: int = 0, shock: bool = False,
                           *, progress: bool = False, figure: Figure | None = None) -> Figure:
    r"""Regret and CTR of one agent at one setting, against the default setting and the oracle.

    Plays ``agent`` (a name from :data:`~bandits_lib.playground.AGENT_KINDS`) with
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
        One content column wide, two stacked panels sharing the step axis: top, the
        cumulative regret (``plot_cumulative_regret``); bottom, the moving-average CTR
        with the oracle's (``plot_moving_ctr``). One legend above the panels names each
        run with its final regret and its expected CTR over the last steps. Its
        ``alt_text`` attribute describes the figure in words.
    """
    values = check_regret_settings(agent, alpha, lambda_, lr, horizon, seed, shock)
    defaults = {**values, "alpha": DEFAULT_ALPHA, "lambda_": DEFAULT_LAMBDA, "lr": None}
    keys = ("agent", "alpha", "lambda_", "lr", "horizon", "seed", "shock")
    is_default = all(values[k] == defaults[k] for k in keys)
    current_name = f"{values['agent']} ({_label(values)})"
    runs = {current_name: values}
    if not is_default:
        runs[f"default ({_label(defaults)})"] = defaults
    frames = []
    for name, setting in runs.items():
        frame = run_setting(*(setting[k] for k in keys), progress=progress).copy()
        frame.attrs = {}
        frame["agent"] = name
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    df["agent"] = pd.Categorical(df["agent"], categories=list(runs))
    horizon = values["horizon"]
    shock_at = horizon // 2 if values["shock"] else None
    df.attrs["market_shock_at"] = shock_at

    total = df.groupby("agent", observed=True)["regret"].sum()
    window = max(10, min(500, horizon // 10))
    last = df[df["step"] >= horizon - window]
    ctr = last.groupby("agent", observed=True)["expected_reward"].mean()
    oracle = last[last["agent"] == current_name]["oracle_reward"].mean()

    fig = _figure(figure, (COLUMN_WIDTH_IN, 6.6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    plot_cumulative_regret(df, ax=top, title="Cumulative regret against the oracle", shock_at=shock_at,
                           legend=False)
    plot_moving_ctr(df, window=window, ax=bottom, title="Click-through rate", shock_at=shock_at, legend=False)
    top.set_xlabel("")
    top.tick_params(labelbottom=False)

    # One legend for both panels, above them: each run with its numbers.
    handles, texts = [], []
    for line in top.get_lines():
        name = line.get_label()
        if name == "market shock":
            continue
        run = name.rsplit(" (1 seed)", 1)[0]
        suffix = ", the default setting" if is_default else ""
        handles.append(line)
        texts.append(f"{run}{suffix}: regret {total[run]:.1f}, CTR {ctr[run]:.3f}")
    oracle_line = next(line for line in bottom.get_lines() if line.get_label().startswith("oracle"))
    handles.append(oracle_line)
    texts.append(f"oracle: CTR {oracle:.3f}")
    if shock_at is not None:
        handles.append(next(line for line in top.get_lines() if line.get_label() == "market shock"))
        texts.append(f"market shock (step {shock_at:,})")
    ncols = 2 if max(map(len, texts)) <= 44 else 1
    rows = int(np.ceil(len(texts) / ncols))
    fig.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.34 / 6.6), ncols=ncols,
               frameon=False, handlelength=1.8, columnspacing=1.2)
    shock_text = f", market shock at step {shock_at:,}" if shock_at is not None else ""
    fig.suptitle(f"{values['agent']}, {horizon:,} steps, seed {values['seed']}{shock_text}", y=1 - 0.06 / 6.6,
                 va="top")
    _margins(fig, top_in=0.62 + 0.2 * rows, hspace_in=0.45)

    parts = [f"{run} ends with cumulative regret {total[run]:.1f} and expected CTR {ctr[run]:.3f} over the "
             f"last {window} steps" for run in runs]
    fig.alt_text = (
        f"Two stacked line charts for {values['agent']} over {horizon:,} steps (seed {values['seed']}"
        f"{shock_text}): on top the cumulative regret against the oracle, below the click-through rate as a "
        f"moving average over {window} steps with the oracle's as a dotted line. " + "; ".join(parts)
        + f"; the oracle's expected CTR is {oracle:.3f}."
    )
    return fig


# ---------------------------------------------------------------------- the explorers' figures
def bonus_explorer_figure(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                          lr: float | None = None, steps: int | None = None, persona: str = "new_puppy_parent",
                          seed: int = 0, max_steps: int | None = None, *,
                          figure: Figure | None = None) -> Figure:
    r"""Exploitation and exploration bonus per product for one user, after ``steps`` of training.

    The agent is trained online on the simulated shop (users and clicks of ``seed``)
    for ``max_steps`` steps; at each checkpoint (:func:`training_checkpoints`) its
    mean and exploration bonus are recorded for a user of every persona
    (:func:`~bandits_lib.playground.ucb_trajectory`). Top: the UCB score of every
    product for a ``persona`` user after ``steps`` steps (``plot_ucb_components``,
    products grouped by category); bottom: that user's mean and largest bonus over the
    products at every checkpoint, which shrink as :math:`A` accumulates data
    (:math:`\alpha\sqrt{x^\top A^{-1}x}`).

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
        One content column wide, two stacked panels; its ``alt_text`` attribute
        describes it in words.
    """
    values = check_bonus_settings(agent, alpha, lambda_, lr, steps, persona, seed, max_steps)
    run = ucb_trajectory(values["agent"], values["alpha"], values["lambda_"], values["lr"], values["seed"],
                         values["max_steps"])
    at = run["steps"].index(values["steps"])
    who = PERSONAS.index(values["persona"])
    exploitation, bonus = run["exploitation"][at, who], run["bonus"][at, who]
    categories = run["products"]["category"].tolist()
    chosen = int(np.argmax(exploitation + bonus))
    user = values["persona"].replace("_", " ")

    fig = _figure(figure, (COLUMN_WIDTH_IN, 6.9))
    top, bottom = fig.subplots(2, 1, height_ratios=(1.25, 1))
    plot_ucb_components(exploitation, bonus, ax=top, categories=categories,
                        title=f"UCB score of every product for a {user} after {values['steps']:,} steps")
    steps_axis = np.asarray(run["steps"])
    mean_bonus = run["bonus"][:, who].mean(axis=1)
    max_bonus = run["bonus"][:, who].max(axis=1)
    bottom.plot(steps_axis, mean_bonus, marker="o", label="mean over products")
    bottom.plot(steps_axis, max_bonus, marker=".", linestyle="--", label="largest")
    bottom.axvline(values["steps"], color="black", linewidth=1, label=f"shown above: {values['steps']:,} steps")
    bottom.set_xscale("symlog", linthresh=10)
    bottom.set_xlim(0, steps_axis.max() * 1.1)  # no negative side on a count of steps
    bottom.set_xlabel("training steps (interactions)")
    bottom.set_ylabel("exploration bonus\n(CTR units)")
    bottom.set_title("The bonus as data accumulate")
    bottom.grid(True, alpha=0.3)
    bottom.legend(loc="lower left")  # the curves start high on the left and fall
    fig.suptitle(f"{values['agent']} ({_label(values)}), seed {values['seed']}", y=1 - 0.06 / 6.9, va="top")
    _margins(fig, top_in=0.72, bottom_in=0.5, hspace_in=0.95)

    first, last = mean_bonus[0], mean_bonus[-1]
    fig.alt_text = (
        f"Two panels for {values['agent']} ({_label(values)}), seed {values['seed']}. Top: a bar for each of the "
        f"{len(exploitation)} products, grouped by category, stacking the estimated reward and the exploration "
        f"bonus for a {user} after {values['steps']:,} steps; product {chosen} ({categories[chosen]}) has the "
        f"highest score, with bonus {bonus[chosen]:.3f}. Bottom: that user's mean bonus over the products "
        f"against training steps on a logarithmic axis, from {first:.3f} at step 0 to {last:.3f} at step "
        f"{values['max_steps']:,}, and the largest bonus."
    )
    return fig


__all__ = ["plot_cumulative_regret", "plot_moving_ctr", "plot_ucb_components", "regret_explorer_figure",
           "bonus_explorer_figure"]
