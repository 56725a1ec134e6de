r"""Any bandit problem as an *environment*, and one runner for all of them.

The pet-shop experiments of Chapters 2 and 3 (:func:`~bandits_lib.experiments.run_comparison`)
are written around :class:`~bandits_lib.simulator.ZooplusSimulator`. Chapter 4 meets other
worlds -- a classification data set, a catalogue of 100,000 products -- so the loop is
stated once more, against a small protocol:

.. code-block:: text

    environment.context(t)            -> feature matrix, shape (n_arms, feature_dim)
    environment.reward(t, arm)        -> the observed reward
    environment.expected_reward(t, arm), environment.oracle_reward(t)   (for the regret)

An environment fixes all of its randomness when it is built from a seed (which users,
which order, which click noise), so every agent played on ``make_environment(seed)``
meets the same contexts and the same noise: common random numbers. The table that
:func:`run_environment_comparison` returns has the columns of ``run_comparison``'s, so
``summarize``, ``cumulative_regret`` and ``plot_cumulative_regret`` work on it unchanged.
:class:`PetShopEnvironment` is the pet shop seen through this protocol; the tests check
that both runners give identical trajectories.

Taught in: chapters/04_3_real_data (the protocol), chapters/04_4_scale.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._validation import check_int
from .agents.base import BanditAgent
from .config import SMOKE
from .experiments import call_factory
from .features import FEATURE_DIM, FeatureBuilder
from .simulator import PERSONAS, ZooplusSimulator, click_thresholds


@runtime_checkable
class Environment(Protocol):
    """What the runner needs from a bandit problem of horizon ``len(environment)``."""

    n_arms: int
    feature_dim: int

    def __len__(self) -> int: ...

    def context(self, t: int) -> torch.Tensor:
        """Feature matrix of step ``t``, shape (n_arms, feature_dim)."""
        ...

    def reward(self, t: int, arm: int) -> float:
        """Observed reward of ``arm`` at step ``t`` (the same every time it is asked)."""
        ...

    def expected_reward(self, t: int, arm: int) -> float:
        """Noise-free reward of ``arm`` at step ``t``."""
        ...

    def oracle_reward(self, t: int) -> float:
        """Best expected reward available at step ``t``."""
        ...


class PetShopEnvironment:
    """The pet shop of :class:`~bandits_lib.simulator.ZooplusSimulator` as an :class:`Environment`.

    Users and click uniforms are drawn once (:meth:`ZooplusSimulator.draw_stream`); the
    click of an arm is decided by the step's uniform exactly as in
    :func:`~bandits_lib.experiments.run_comparison`.

    Parameters
    ----------
    n_interactions : int
    seed : int
        Seed of the simulator (catalogue, personas, users, clicks).
    n_products, n_users : int
    market_shock_at : int, optional
        From this step on, the shocked preferences hold.
    """

    feature_dim = FEATURE_DIM

    def __init__(self, n_interactions: int, seed: int = 0, n_products: int = 50, n_users: int = 1000,
                 market_shock_at: int | None = None) -> None:
        n_interactions = check_int("n_interactions", n_interactions, minimum=1)
        simulator = ZooplusSimulator(n_products=n_products, n_users=n_users, seed=seed)
        self.stream = simulator.draw_stream(n_interactions)
        self.n_arms = simulator.n_products
        self.market_shock_at = market_shock_at
        self._features = FeatureBuilder(simulator.products).by_index
        self._ctr = (simulator.ctr_matrix(), simulator.shocked_ctr_matrix())
        self._thresholds = [click_thresholds(table) for table in self._ctr]
        self._personas = self.stream.personas.tolist()

    def __len__(self) -> int:
        return len(self.stream)

    def _phase(self, t: int) -> int:
        return int(self.market_shock_at is not None and t >= self.market_shock_at)

    def context(self, t: int) -> torch.Tensor:
        return self._features[self._personas[t]]

    def reward(self, t: int, arm: int) -> float:
        lower, upper = self._thresholds[self._phase(t)]
        persona, u = self._personas[t], self.stream.uniforms[t]
        return float(lower[persona, arm] < u <= upper[persona, arm])

    def expected_reward(self, t: int, arm: int) -> float:
        return float(self._ctr[self._phase(t)][self._personas[t], arm])

    def oracle_reward(self, t: int) -> float:
        return float(self._ctr[self._phase(t)][self._personas[t]].max())


def play_environment(agent: BanditAgent, environment: Environment,
                     on_progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray | float]:
    """Play ``agent`` once through ``environment``: context, predict, reward, update.

    Returns
    -------
    dict with ``arm`` (int64), ``reward``, ``expected_reward``, ``oracle_reward``
    (float64), each shape (T,), and ``seconds`` (wall time of the loop, environment included).
    """
    n = len(environment)
    arms = np.zeros(n, dtype=np.int64)
    rewards, expected, oracle = np.zeros(n), np.zeros(n), np.zeros(n)
    begin = time.perf_counter()
    for t in range(n):
        X = environment.context(t)
        arm = agent.predict(X)
        reward = environment.reward(t, arm)
        agent.update(arm, X[arm], reward)
        arms[t], rewards[t] = arm, reward
        expected[t], oracle[t] = environment.expected_reward(t, arm), environment.oracle_reward(t)
        if on_progress is not None and (t + 1) % 1000 == 0:
            on_progress(1000)
    seconds = time.perf_counter() - begin
    if on_progress is not None:
        on_progress(n % 1000)
    return {"arm": arms, "reward": rewards, "expected_reward": expected, "oracle_reward": oracle,
            "seconds": seconds}


def _make(spec: Callable[..., BanditAgent], seed: int, environment: Environment) -> BanditAgent:
    if isinstance(spec, BanditAgent) or not callable(spec):
        raise TypeError(f"agents values must be factories called with a seed (e.g. lambda seed: ...), "
                        f"got {type(spec).__name__}")
    return call_factory(spec, seed, environment=environment)


def _takes_agent(make_environment: Callable[..., Environment]) -> bool:
    try:
        return "agent" in inspect.signature(make_environment).parameters
    except (TypeError, ValueError):
        return False


def _job(name: str, spec: Callable[..., BanditAgent], seed: int, make_environment: Callable[..., Environment],
         torch_threads: int, on_progress: Callable[[int], None] | None = None) -> tuple[str, int, dict]:
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        environment = make_environment(seed, agent=name) if _takes_agent(make_environment) else make_environment(seed)
        if not isinstance(environment, Environment):
            raise TypeError(f"make_environment({seed}) returned {type(environment).__name__}, "
                            "which lacks the Environment methods (context, reward, expected_reward, oracle_reward)")
        return name, seed, play_environment(_make(spec, seed, environment), environment, on_progress)
    finally:
        torch.set_num_threads(previous)


def run_environment_comparison(
    agents: Mapping[str, Callable[..., BanditAgent]],
    make_environment: Callable[..., Environment],
    seeds: Sequence[int] = (0,),
    n_jobs: int | None = None,
    torch_threads: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Every agent on every seed's environment, on common random numbers.

    Parameters
    ----------
    agents : mapping of str to factory
        Name -> ``factory(seed)``, or ``factory(seed=seed, environment=env)`` when the
        factory has an ``environment`` parameter.
    make_environment : callable
        ``seed -> Environment``; called once per run, so it must return the same world
        for the same seed (every agent of a seed meets the same contexts and noise).
        If it has a parameter named ``agent``, it is called as
        ``make_environment(seed, agent=name)``: the world may then depend on the agent
        (e.g. how many candidates a retrieval stage passes it), its randomness on the
        seed only.
    seeds : sequence of int, default (0,)
    n_jobs : int, optional
        Processes (joblib). Default: all cores, or 1 at smoke scale.
    torch_threads : int, default 1
    progress : bool, default True

    Returns
    -------
    pandas.DataFrame
        One row per (agent, seed, step): ``step, seed, agent, arm, reward,
        expected_reward, oracle_reward, regret`` (regret = oracle minus expected reward
        of the arm played); ``df.attrs["timings"]`` holds each run's wall time.
    """
    if not isinstance(agents, Mapping) or len(agents) == 0:
        raise ValueError("agents must be a non-empty mapping of name -> factory")
    if not callable(make_environment):
        raise TypeError(f"make_environment must be a callable seed -> Environment, got {type(make_environment).__name__}")
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers, got {seeds}")
    torch_threads = check_int("torch_threads", torch_threads, minimum=1)
    jobs = [(name, spec, seed) for seed in seeds for name, spec in agents.items()]
    if n_jobs is None:
        n_jobs = 1 if SMOKE else -1
    results: dict[tuple[str, int], dict] = {}
    bar = tqdm(total=len(jobs), desc="runs", disable=not progress, unit="run")
    if n_jobs == 1 or len(jobs) == 1:
        for name, spec, seed in jobs:
            results[name, seed] = _job(name, spec, seed, make_environment, torch_threads)[2]
            bar.update(1)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        for name, seed, out in parallel(delayed(_job)(name, spec, seed, make_environment, torch_threads)
                                        for name, spec, seed in jobs):
            results[name, seed] = out
            bar.update(1)
    bar.close()

    frames, timings = [], []
    for name, _, seed in jobs:
        out = results[name, seed]
        n = len(out["arm"])
        frames.append(pd.DataFrame({
            "step": np.arange(n, dtype=np.int64), "seed": seed, "agent": name, "arm": out["arm"],
            "reward": out["reward"], "expected_reward": out["expected_reward"],
            "oracle_reward": out["oracle_reward"], "regret": out["oracle_reward"] - out["expected_reward"],
        }))
        timings.append({"agent": name, "seed": seed, "seconds": out["seconds"],
                        "steps_per_second": n / max(out["seconds"], 1e-12)})
    df = pd.concat(frames, ignore_index=True)
    df["agent"] = pd.Categorical(df["agent"], categories=list(agents))
    df.attrs["timings"] = pd.DataFrame(timings)
    return df


__all__ = ["Environment", "PetShopEnvironment", "play_environment", "run_environment_comparison"]
