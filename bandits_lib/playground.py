r"""The playground: the agents a reader can try, their settings, and the runs behind the figures.

* :data:`AGENT_KINDS` -- the agents of the playground by name; :func:`configured_agent`
  builds one at a setting :math:`(\alpha, \lambda, \text{lr})`, as a template that
  experiments clone per seed;
* :func:`run_setting` and :func:`ucb_trajectory` -- one short run at one setting (cached,
  so going back to a setting already seen is instant), for the live explorers of
  :mod:`bandits_lib.widgets` and their figures in :mod:`bandits_lib.plotting`;
* :func:`run_sweep` -- a grid of exploration weights :math:`\alpha` and ridge strengths
  :math:`\lambda`, run once when the book is built, whose results a web chart
  (:mod:`bandits_lib.web`) filters in the browser: a static page has no kernel to rerun
  a bandit when a slider moves.

Taught in: chapters/03_8_playground.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_choice, check_float, check_int
from .agents import BanditAgent, LastLayerNeuralUCBAgent, LinUCBAgent, NeuralLinUCBAgent, NeuralUCBAgent
from .config import scaled
from .envs.features import FEATURE_DIM, FeatureBuilder
from .envs.petshop import PetShopEnvironment
from .envs.simulator import PERSONAS
from .experiments import play, run_comparison

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
        ``build(alpha, lambda_, lr, n_arms) -> BanditAgent`` (seed None: a template).
    default_lr : float or None
        Adam learning rate used when none is given (``None``: the agent has no network).
    description : str
        One line on what the agent is.
    """

    name: str
    build: Callable[[float, float, float | None, int], BanditAgent] = field(repr=False)
    default_lr: float | None
    description: str


def _linucb(alpha: float, lambda_: float, lr: float | None, n_arms: int) -> BanditAgent:
    return LinUCBAgent(n_arms, FEATURE_DIM, alpha=alpha, lambda_=lambda_)


def _neural_full(alpha: float, lambda_: float, lr: float | None, n_arms: int) -> BanditAgent:
    return NeuralUCBAgent(FEATURE_DIM, hidden_dims=(32, 16), lambda_=lambda_, alpha=alpha, lr=lr,
                          confidence="full", jacobian="analytic")


def _neural_diagonal(alpha: float, lambda_: float, lr: float | None, n_arms: int) -> BanditAgent:
    return NeuralUCBAgent(FEATURE_DIM, hidden_dims=(128, 64), lambda_=lambda_, alpha=alpha, lr=lr,
                          confidence="diagonal", jacobian="analytic")


def _last_layer(alpha: float, lambda_: float, lr: float | None, n_arms: int) -> BanditAgent:
    return LastLayerNeuralUCBAgent(FEATURE_DIM, hidden_dims=(128, 64), embedding_dim=64, lambda_=lambda_,
                                   alpha=alpha, lr=lr)


def _hybrid(alpha: float, lambda_: float, lr: float | None, n_arms: int) -> BanditAgent:
    return NeuralLinUCBAgent(n_arms, FEATURE_DIM, hidden_dims=(128, 64), embedding_dim=32, lambda_=lambda_,
                             alpha=alpha, lr=lr)


#: The agents a reader can pick in the playground, by name (each named for its confidence matrix and
#: training). Default learning rates: 1e-3 for the full networks, 1e-4 for the embedding agents.
AGENT_KINDS: dict[str, AgentKind] = {kind.name: kind for kind in (
    AgentKind("LinUCB", _linucb, None, "disjoint LinUCB, one ridge regression per product"),
    AgentKind("NeuralUCB (exact, online, 32x16)", _neural_full, 1e-3,
              "NeuralUCB with the exact p x p confidence matrix on a small network (p = 865)"),
    AgentKind("NeuralUCB (diagonal, online, 128x64)", _neural_diagonal, 1e-3,
              "NeuralUCB on the chapter's (128, 64) network, diagonal confidence matrix, one Adam step per round"),
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


def configured_agent(kind: str, alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                     lr: float | None = None, n_arms: int = 50) -> BanditAgent:
    r"""An agent of ``kind`` at one setting, with ``seed=None``: a template for the experiments to clone per seed.

    ``lr=None`` is the kind's default learning rate (:attr:`AgentKind.default_lr`).

    Examples
    --------
    >>> agent = configured_agent("LinUCB", alpha=0.5, lambda_=2.0, n_arms=10)
    >>> agent.alpha, agent.lambda_, agent.n_arms
    (0.5, 2.0, 10)
    """
    spec = check_agent_kind("kind", kind)
    alpha, lambda_, lr = check_hyperparameters(alpha, lambda_, lr)
    n_arms = check_int("n_arms", n_arms, minimum=1)
    return spec.build(alpha, lambda_, spec.default_lr if lr is None else lr, n_arms)


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
    df = run_comparison({name: configured_agent(*setting) for name, setting in settings.items()}, horizon,
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


# ---------------------------------------------------------------------- the explorers' settings
#: Accepted horizons and seeds (the explorers' boxes span exactly these).
HORIZON_RANGE: tuple[int, int] = (10, 100_000)
SEED_RANGE: tuple[int, int] = (0, 1_000_000)
#: Default horizon of the regret explorer (a rerun stays within seconds on a laptop CPU).
REGRET_HORIZON: int = scaled(1500, 200)
#: Default length of the bonus explorer's training run.
BONUS_MAX_STEPS: int = scaled(2000, 100)
#: Most training steps the bonus explorer accepts.
MAX_TRAINING_STEPS: int = 20_000


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
    """Validate the settings of the regret explorer; return them normalised.

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
    """Validate the settings of the bonus explorer; return them normalised.

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


def run_setting(agent: str, alpha: float, lambda_: float, lr: float | None, horizon: int, seed: int, shock: bool,
                progress: bool = False) -> pd.DataFrame:
    """One run of one setting (cached): the table of :func:`~bandits_lib.experiments.run_comparison`.

    With ``shock`` the market shock happens halfway. Settings are not checked here
    (see :func:`check_regret_settings`).
    """
    def compute() -> pd.DataFrame:
        return run_comparison({"run": configured_agent(agent, alpha, lambda_, lr)}, horizon,
                              market_shock_at=horizon // 2 if shock else None, seeds=[seed], n_jobs=1,
                              progress=progress)
    return _RUNS.fetch((agent, alpha, lambda_, lr, horizon, seed, shock), compute)


def ucb_trajectory(agent: str = "LinUCB", alpha: float = DEFAULT_ALPHA, lambda_: float = DEFAULT_LAMBDA,
                   lr: float | None = None, seed: int = 0, max_steps: int | None = None) -> dict[str, Any]:
    """Train one agent online for ``max_steps`` and record its scores on the way (cached).

    The agent (:func:`configured_agent`, seeded with ``seed``) plays the simulated shop of
    ``seed``; at every checkpoint of :func:`training_checkpoints` its mean and
    exploration bonus (``alpha * width``) are recorded for a user of every persona.
    Settings are checked as in :func:`check_bonus_settings`.

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
        environment = PetShopEnvironment(max_steps, seed=seed)
        bandit = configured_agent(agent, alpha, lambda_, lr).clone(seed=seed)
        rows = list(FeatureBuilder(environment.simulator.products).by_index)  # one matrix per persona
        checkpoints = training_checkpoints(max_steps)
        exploitation, bonus = [], []
        done = 0
        for target in checkpoints:
            if target > done:
                play(bandit, environment, done, target)
                done = target
            scores = [bandit.score(X) for X in rows]
            exploitation.append(np.stack([mean.cpu().numpy() for mean, _ in scores]))
            bonus.append(np.stack([(bandit.alpha * width).cpu().numpy() for _, width in scores]))
        return {"steps": checkpoints, "exploitation": np.stack(exploitation), "bonus": np.stack(bonus),
                "products": environment.simulator.products}
    return _TRAJECTORIES.fetch((agent, alpha, lambda_, lr, seed, max_steps), compute)


__all__ = [
    "AGENT_KINDS", "AgentKind", "configured_agent", "DEFAULT_ALPHA", "DEFAULT_LAMBDA", "ALPHA_RANGE", "LAMBDA_RANGE",
    "LR_RANGE", "SWEEP_AGENTS", "SWEEP_ALPHAS", "SWEEP_LAMBDAS", "SWEEP_SEEDS", "SWEEP_HORIZON", "SweepResult",
    "run_sweep", "check_agent_kind", "check_hyperparameters", "check_regret_settings", "check_bonus_settings",
    "training_checkpoints", "run_setting", "ucb_trajectory", "REGRET_HORIZON", "BONUS_MAX_STEPS",
]
