r"""Figures of the book: cumulative regret with a band over seeds, moving-average CTR, UCB scores,
and the figures behind the live explorers.

Every ``plot_*`` function draws on a given matplotlib ``Axes`` (or a new one) and returns
it; the explorer figures (``*_explorer_figure``) return a whole ``Figure``, so the widgets
of :mod:`bandits_lib.widgets` and the static pages draw the very same figure.

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


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8, 4.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _colors(names: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def plot_cumulative_regret(df: pd.DataFrame, ax: Axes | None = None, title: str | None = None,
                           shock_at: int | None = None, band: str = "std") -> Axes:
    """Mean cumulative regret over seeds per agent, with a band.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`~bandits_lib.experiments.run_comparison`.
    band : {"std", "minmax"}
        Band of one standard deviation around the mean, or min-max over seeds.
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
        ax.plot(mean.index, mean.to_numpy(), color=colors[name], label=f"{name} ({wide.shape[1]} seed{'' if wide.shape[1] == 1 else 's'})")
        ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), color=colors[name], alpha=0.2, linewidth=0)
    if shock_at is None:
        shock_at = df.attrs.get("market_shock_at")
    if shock_at is not None:
        ax.axvline(shock_at, color="crimson", linestyle="--", label="market shock")
    ax.set_xlabel("interaction (step)")
    ax.set_ylabel("cumulative regret (expected clicks lost)")
    ax.set_title(title or "Cumulative regret against the oracle")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_moving_ctr(df: pd.DataFrame, window: int = 500, ax: Axes | None = None, title: str | None = None,
                    shock_at: int | None = None, show_oracle: bool = True) -> Axes:
    """Moving-average CTR (mean over seeds) per agent, with the oracle's for reference."""
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
    ax.set_ylabel(f"CTR, moving average over {window} steps")
    ax.set_title(title or "Click-through rate over time")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_ucb_components(exploitation: np.ndarray, bonus: np.ndarray, labels: list[str] | None = None,
                        ax: Axes | None = None, title: str | None = None) -> Axes:
    """Stacked bars of exploitation and exploration bonus per arm (the UCB score's two terms)."""
    ax = _axes(ax, figsize=(10, 4))
    exploitation, bonus = np.asarray(exploitation, dtype=float), np.asarray(bonus, dtype=float)
    x = np.arange(len(exploitation))
    ax.bar(x, exploitation, label="exploitation (estimated reward)", color="tab:blue")
    ax.bar(x, bonus, bottom=exploitation, label="exploration bonus", color="tab:orange", alpha=0.8)
    best = int(np.argmax(exploitation + bonus))
    ax.bar([best], [exploitation[best] + bonus[best]], fill=False, edgecolor="black", linewidth=1.5, label="chosen arm")
    if labels is not None:
        ax.set_xticks(x, labels, rotation=90, fontsize="x-small")
    ax.set_xlabel("product (arm)")
    ax.set_ylabel("UCB score")
    ax.set_title(title or "UCB score = exploitation + exploration bonus")
    ax.legend(fontsize="small")
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
    return figure


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
        frame = run_setting(*(setting[k] for k in keys), progress=progress).copy()
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


# ---------------------------------------------------------------------- the explorers' figures
def bonus_explorer_figure(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                          lr: float | None = None, steps: int | None = None, persona: str = "new_puppy_parent",
                          seed: int = 0, max_steps: int | None = None, *,
                          figure: Figure | None = None) -> Figure:
    r"""Exploitation and exploration bonus per product for one user, after ``steps`` of training.

    The agent is trained online on the simulated shop (users and clicks of ``seed``)
    for ``max_steps`` steps; at each checkpoint (:func:`training_checkpoints`) its
    mean and exploration bonus are recorded for a user of every persona
    (:func:`~bandits_lib.playground.ucb_trajectory`). Left: the UCB score of every product for a ``persona`` user after
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


__all__ = ["plot_cumulative_regret", "plot_moving_ctr", "plot_ucb_components", "regret_explorer_figure",
           "bonus_explorer_figure"]
