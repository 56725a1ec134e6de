"""Figures of the book: cumulative regret with a band over seeds, moving-average CTR.

Every function draws on a given matplotlib ``Axes`` (or a new one) and returns it, so
the widgets and the static pages draw the very same figure.

Taught in: chapters/02_linucb, chapters/03_6_showdown.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .experiments import cumulative_regret, moving_average


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
