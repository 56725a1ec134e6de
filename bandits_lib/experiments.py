"""Experiments: every agent on common random numbers, results as a tidy table.

``run_comparison`` draws, for each seed, one :class:`~bandits_lib.simulator.InteractionStream`
(users and click uniforms) and plays every agent on it: all agents meet the same users
and, for the same arm, the same click. Runs are independent jobs, spread over processes
with joblib (any joblib backend works, e.g. Dask or Ray on a cluster, through
``joblib.parallel_config``).

Taught in: chapters/03_6_showdown (design of the comparison), chapters/02_linucb,
chapters/appendix_performance (running on a cluster).
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._validation import check_int
from .agents.base import BanditAgent
from .config import SMOKE
from .features import FeatureBuilder
from .simulator import PERSONAS, InteractionStream, ZooplusSimulator, click_thresholds

AgentFactory = Callable[..., BanditAgent]
AgentSpec = Union[BanditAgent, AgentFactory]


def make_agent(spec: AgentSpec, seed: int, simulator: ZooplusSimulator) -> BanditAgent:
    """Instantiate ``spec`` for one run.

    An agent instance is used as is. A callable is called as ``spec(seed)``, or as
    ``spec(seed=seed, simulator=simulator)`` when it has a ``simulator`` parameter
    (e.g. ``OracleAgent`` itself, which must read the run's own simulator).
    """
    if isinstance(spec, BanditAgent):
        return spec
    if not callable(spec):
        raise TypeError(f"agents values must be agents or factories callable with a seed, got {type(spec).__name__}")
    return call_factory(spec, seed, simulator=simulator)


def call_factory(factory: Callable[..., BanditAgent], seed: int, **context: Any) -> BanditAgent:
    """``factory(seed)``; by keyword, ``factory(seed=seed, name=value)`` for each ``context``
    item whose name the factory's signature has (e.g. ``simulator``, ``environment``)."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}
    wanted = {name: value for name, value in context.items() if name in parameters}
    agent = factory(seed=seed, **wanted) if wanted else factory(seed)
    if not isinstance(agent, BanditAgent):
        raise TypeError(f"an agent factory returned {type(agent).__name__}, expected a BanditAgent")
    return agent


def play(
    agent: BanditAgent,
    simulator: ZooplusSimulator,
    stream: InteractionStream,
    market_shock_at: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Play ``agent`` on ``stream`` in ``simulator``'s world; the online loop of the book.

    At each step: the user's feature matrix, ``predict``, the click decided by the
    stream's uniform, ``update``. At ``market_shock_at`` the simulator's market shock
    happens (before that step's decision).

    Returns
    -------
    dict with ``arm`` (int64), ``reward`` (int8), ``expected_reward`` (float64), each
    shape (T,), and ``seconds`` (wall time of the loop).
    """
    log = _Log(len(stream))
    _play_steps(agent, simulator, stream, 0, len(stream), market_shock_at, log, on_progress)
    return log.result(simulator, stream, market_shock_at)


def play_with_and_without_shock(
    agent: BanditAgent,
    simulator: ZooplusSimulator,
    stream: InteractionStream,
    market_shock_at: int,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Experiments 1 and 2 in one go: identical until the shock, so played once and forked.

    Up to ``market_shock_at`` the stationary and the shocked worlds see the same users,
    the same clicks and (the agent being deterministic given its seed) the same
    decisions; at the shock the agent and the simulator are deep-copied and each copy
    plays its own world to the end. The result equals two separate runs (tested).

    Returns
    -------
    dict with keys ``"stationary"`` and ``"shock"``, each as :func:`play` returns.
    """
    n = len(stream)
    shared = _Log(n)
    _play_steps(agent, simulator, stream, 0, market_shock_at, None, shared, on_progress)
    twin_agent, twin_simulator = copy.deepcopy((agent, simulator))
    stationary, shocked = shared.copy(), shared.copy()
    _play_steps(agent, simulator, stream, market_shock_at, n, None, stationary, on_progress)
    _play_steps(twin_agent, twin_simulator, stream, market_shock_at, n, market_shock_at, shocked, on_progress)
    return {"stationary": stationary.result(simulator, stream, None),
            "shock": shocked.result(twin_simulator, stream, market_shock_at)}


class _Log:
    """Arrays filled by the loop, and the wall time spent filling them."""

    def __init__(self, n: int) -> None:
        self.arms = np.zeros(n, dtype=np.int64)
        self.rewards = np.zeros(n, dtype=np.int8)
        self.seconds = 0.0

    def copy(self) -> _Log:
        twin = _Log(0)
        twin.arms, twin.rewards, twin.seconds = self.arms.copy(), self.rewards.copy(), self.seconds
        return twin

    def result(self, simulator: ZooplusSimulator, stream: InteractionStream, market_shock_at: int | None) -> dict:
        phases = np.zeros(len(stream), dtype=np.int64)
        if market_shock_at is not None:
            phases[market_shock_at:] = 1
        elif simulator.shocked:  # played in a world shocked before the run (e.g. resumed from a checkpoint)
            phases[:] = 1
        tables = np.stack(_ctr_tables(simulator))
        expected = tables[phases, stream.personas, self.arms]
        return {"arm": self.arms, "reward": self.rewards, "expected_reward": expected, "seconds": self.seconds}


def _ctr_tables(simulator: ZooplusSimulator) -> list[np.ndarray]:
    """True CTR tables (n_personas, n_products) before and after the market shock."""
    if simulator.shocked:
        return [simulator.ctr_matrix(simulator.personas_before_shock), simulator.ctr_matrix()]
    return [simulator.ctr_matrix(), simulator.shocked_ctr_matrix()]


def _play_steps(agent: BanditAgent, simulator: ZooplusSimulator, stream: InteractionStream, start: int, stop: int,
                market_shock_at: int | None, log: _Log, on_progress: Callable[[int], None] | None) -> None:
    features = FeatureBuilder(simulator.products, device=agent.device)
    feature_rows = [features.by_index[i] for i in range(len(PERSONAS))]
    # Each arm's row as a ready-made view: update() recognises it by its memory, no copy or comparison.
    arm_rows = [list(X.unbind(0)) for X in feature_rows]
    thresholds = [tuple(np.asarray(a).tolist() for a in click_thresholds(t)) for t in _ctr_tables(simulator)]
    personas, uniforms = stream.personas.tolist(), stream.uniforms.tolist()
    arms, rewards = log.arms, log.rewards
    shocked = simulator.shocked if market_shock_at is None else start > market_shock_at
    lower, upper = thresholds[1 if shocked else 0]
    begin = time.perf_counter()
    for t in range(start, stop):
        if t == market_shock_at:
            simulator.introduce_market_shock()
            lower, upper = thresholds[1]
        persona = personas[t]
        X = feature_rows[persona]
        arm = agent.predict(X)
        u = uniforms[t]
        reward = 1 if lower[persona][arm] < u <= upper[persona][arm] else 0
        agent.update(arm, arm_rows[persona][arm], reward)
        arms[t], rewards[t] = arm, reward
        if on_progress is not None and (t + 1 - start) % 1000 == 0:
            on_progress(1000)
    log.seconds += time.perf_counter() - begin
    if on_progress is not None:
        on_progress((stop - start) % 1000)


def _run_job(name: str, spec: AgentSpec, seed: int, world_seed: int, n_products: int, n_users: int,
             stream: InteractionStream, market_shock_at: int | None, fork: bool, torch_threads: int,
             on_progress: Callable[[int], None] | None = None) -> tuple[str, int, dict[str, dict]]:
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        simulator = ZooplusSimulator(n_products=n_products, n_users=n_users, seed=world_seed)
        agent = make_agent(spec, seed, simulator)
        if fork:
            return name, seed, play_with_and_without_shock(agent, simulator, stream, market_shock_at, on_progress)
        return name, seed, {"run": play(agent, simulator, stream, market_shock_at, on_progress)}
    finally:
        torch.set_num_threads(previous)


def run_comparison(
    agents: Mapping[str, AgentSpec],
    n_interactions: int,
    market_shock_at: int | None = None,
    seeds: Sequence[int] = (0,),
    n_products: int = 50,
    n_users: int = 1000,
    simulator_seed: int | None = None,
    n_jobs: int | None = None,
    torch_threads: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every agent for every seed on common random numbers.

    Parameters
    ----------
    agents : mapping of str to agent or factory
        Name -> factory called with each seed (see :func:`make_agent`); an agent
        instance is accepted for a single seed and is trained in place.
    n_interactions : int
        Horizon ``T``.
    market_shock_at : int, optional
        Step at which ``introduce_market_shock()`` happens.
    seeds : sequence of int, default (0,)
        One run per seed and agent. The seed drives the agent and, unless
        ``simulator_seed`` is given, the world (catalogue, personas, users, clicks).
    n_products, n_users : int
        Size of the simulated shop.
    simulator_seed : int, optional
        Keep one world for every seed (only the agents' seeds vary), e.g. 42 to
        replay the draft's own sequence of users and clicks.
    n_jobs : int, optional
        Processes for the runs (joblib). Default: all cores, or 1 at smoke scale.
        Agent *instances* always run in this process. Under a cluster backend (see
        Notes), ``-1`` means every worker of the cluster.
    torch_threads : int, default 1
        Threads per run; one thread makes results independent of ``n_jobs``.
    progress : bool, default True
        Show a progress bar (steps played).

    Returns
    -------
    pandas.DataFrame
        One row per (agent, seed, step): ``step, seed, agent, user, persona, arm,
        reward, expected_reward, oracle_reward, regret`` where ``regret`` is the oracle
        CTR minus the true CTR of the chosen arm. ``df.attrs["timings"]`` holds the
        wall time of every run.

    Notes
    -----
    Every (agent, seed) run is an independent joblib job (seeded, ``torch_threads``
    threads), so the table does not depend on where or in which order the jobs run.
    On one machine joblib's default (loky) backend spreads them over processes. On a
    cluster, joblib's Dask or Ray backend sends the same jobs to the cluster's
    workers; nothing in the call changes::

        import joblib
        from dask.distributed import Client

        client = Client("tcp://scheduler-address:8786")  # or Client(n_workers=8, threads_per_worker=1)
        with joblib.parallel_config(backend="dask"):
            df = run_comparison(agents, 40_000, seeds=range(50), n_jobs=-1)

        # Ray: from ray.util.joblib import register_ray; register_ray()
        #      with joblib.parallel_config(backend="ray"): df = run_comparison(...)

    Agent factories travel to the workers by (cloud)pickle, so lambdas work; the
    workers need ``bandits_lib`` installed. Give each worker process one thread
    (``threads_per_worker=1``): a job sets torch's thread count, which is per process.
    Tested with a local Dask cluster (``tests/test_cluster_backends.py``): identical
    results to ``n_jobs=1``.
    """
    return _run(agents, n_interactions, market_shock_at, False, seeds, n_products, n_users, simulator_seed,
                n_jobs, torch_threads, progress)["run"]


def run_shock_experiment(
    agents: Mapping[str, AgentSpec],
    n_interactions: int,
    market_shock_at: int,
    seeds: Sequence[int] = (0,),
    n_products: int = 50,
    n_users: int = 1000,
    simulator_seed: int | None = None,
    n_jobs: int | None = None,
    torch_threads: int = 1,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """The stationary world and the market shock, on the same users, clicks and seeds.

    Equivalent to ``run_comparison(...)`` and ``run_comparison(..., market_shock_at=...)``
    with the same arguments, but the common first part of each run is played once (see
    :func:`play_with_and_without_shock`). Parameters as :func:`run_comparison`.

    Returns
    -------
    dict with keys ``"stationary"`` and ``"shock"``, each a table as :func:`run_comparison` returns.
    """
    if market_shock_at is None:
        raise ValueError("market_shock_at must be an integer step for a shock experiment, got None")
    return _run(agents, n_interactions, market_shock_at, True, seeds, n_products, n_users, simulator_seed,
                n_jobs, torch_threads, progress)


def _run(agents: Mapping[str, AgentSpec], n_interactions: int, market_shock_at: int | None, fork: bool,
         seeds: Sequence[int], n_products: int, n_users: int, simulator_seed: int | None, n_jobs: int | None,
         torch_threads: int, progress: bool) -> dict[str, pd.DataFrame]:
    if not isinstance(agents, Mapping) or len(agents) == 0:
        raise ValueError("agents must be a non-empty mapping of name -> agent or factory")
    n_interactions = check_int("n_interactions", n_interactions, minimum=1)
    if market_shock_at is not None:
        market_shock_at = check_int("market_shock_at", market_shock_at, minimum=0)
        if market_shock_at >= n_interactions:
            raise ValueError(f"market_shock_at must be < n_interactions ({n_interactions}), got {market_shock_at}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of distinct integers, got {type(seeds).__name__} {seeds!r}")
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers, got {seeds}")
    instances = [name for name, spec in agents.items() if isinstance(spec, BanditAgent)]
    if instances and (len(seeds) > 1 or fork):
        raise ValueError(f"agents {instances} are instances; pass factories (seed -> agent) to run several seeds "
                         "or both worlds of a shock experiment")
    if simulator_seed is not None:
        simulator_seed = check_int("simulator_seed", simulator_seed, minimum=0)
    torch_threads = check_int("torch_threads", torch_threads, minimum=1)

    worlds: dict[int, tuple[InteractionStream, ZooplusSimulator]] = {}
    jobs = []
    for seed in seeds:
        world_seed = seed if simulator_seed is None else simulator_seed
        if world_seed not in worlds:
            simulator = ZooplusSimulator(n_products=n_products, n_users=n_users, seed=world_seed)
            worlds[world_seed] = (simulator.draw_stream(n_interactions), simulator)
        jobs.extend((name, spec, seed, world_seed) for name, spec in agents.items())

    steps_per_job = n_interactions + (n_interactions - market_shock_at if fork else 0)
    bar = tqdm(total=len(jobs) * steps_per_job, desc="steps played", disable=not progress, unit="step",
               unit_scale=True)
    if n_jobs is None:
        n_jobs = 1 if SMOKE else -1
    remote = [job for job in jobs if not isinstance(job[1], BanditAgent)]
    local = [job for job in jobs if isinstance(job[1], BanditAgent)]
    if n_jobs == 1 or len(remote) <= 1:
        local, remote = jobs, []
    results: dict[tuple[str, int], dict[str, dict]] = {}

    def job_args(name: str, spec: AgentSpec, seed: int, world_seed: int) -> tuple:
        return (name, spec, seed, world_seed, n_products, n_users, worlds[world_seed][0], market_shock_at, fork,
                torch_threads)

    for job in local:
        _, _, out = _run_job(*job_args(*job), on_progress=bar.update)
        results[job[0], job[2]] = out
    if remote:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        for name, seed, out in parallel(delayed(_run_job)(*job_args(*job)) for job in remote):
            results[name, seed] = out
            bar.update(steps_per_job)
    bar.close()

    variants = ["stationary", "shock"] if fork else ["run"]
    tables = {}
    for variant in variants:
        shock = None if variant == "stationary" else market_shock_at
        frames, timings = [], []
        for name, _, seed, world_seed in jobs:
            stream, simulator = worlds[world_seed]
            out = results[name, seed][variant]
            oracle = simulator.oracle_ctr()[stream.personas]
            if shock is not None:
                oracle[shock:] = simulator.shocked_ctr_matrix().max(1)[stream.personas[shock:]]
            frames.append(pd.DataFrame({
                "step": np.arange(n_interactions, dtype=np.int64),
                "seed": seed,
                "agent": name,
                "user": stream.users,
                "persona": np.asarray(PERSONAS)[stream.personas],
                "arm": out["arm"],
                "reward": out["reward"],
                "expected_reward": out["expected_reward"],
                "oracle_reward": oracle,
                "regret": oracle - out["expected_reward"],
            }))
            timings.append({"agent": name, "seed": seed, "seconds": out["seconds"],
                            "steps_per_second": n_interactions / max(out["seconds"], 1e-12)})
        df = pd.concat(frames, ignore_index=True)
        df["agent"] = pd.Categorical(df["agent"], categories=list(agents))
        df["persona"] = pd.Categorical(df["persona"], categories=list(PERSONAS))
        df.attrs["timings"] = pd.DataFrame(timings)
        df.attrs["market_shock_at"] = shock
        tables[variant] = df
    return tables


# ---------------------------------------------------------------------- summaries
def cumulative_regret(df: pd.DataFrame) -> pd.DataFrame:
    """Cumulative regret per (agent, seed) at every step: columns agent, seed, step, cumulative_regret."""
    out = df[["agent", "seed", "step"]].copy()
    out["cumulative_regret"] = df.groupby(["agent", "seed"], observed=True)["regret"].cumsum()
    return out


def summarize(df: pd.DataFrame, last_n: int = 500) -> pd.DataFrame:
    """Per agent, mean and standard deviation over seeds of the headline figures.

    Columns: ``ctr`` (average reward over the run), ``last_n_ctr`` (average reward of
    the last ``last_n`` steps), ``expected_ctr`` (average true CTR of the arms played,
    the noise-free version of ``ctr``) and ``cumulative_regret`` (at the horizon), each
    with ``_mean`` and ``_std`` suffixes, plus ``n_seeds``.
    """
    last_n = check_int("last_n", last_n, minimum=1)
    horizon = df["step"].max() + 1
    grouped = df.groupby(["agent", "seed"], observed=True)
    per_run = pd.DataFrame({
        "ctr": grouped["reward"].mean(),
        "last_n_ctr": df[df["step"] >= horizon - last_n].groupby(["agent", "seed"], observed=True)["reward"].mean(),
        "expected_ctr": grouped["expected_reward"].mean(),
        "cumulative_regret": grouped["regret"].sum(),
    })
    stats = per_run.groupby(level="agent", observed=True).agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    stats["n_seeds"] = per_run.groupby(level="agent", observed=True).size()
    return stats


def moving_average(values: np.ndarray | pd.Series, window: int) -> np.ndarray:
    """Trailing moving average (NaN for the first ``window - 1`` steps)."""
    window = check_int("window", window, minimum=1)
    return pd.Series(np.asarray(values, dtype=float)).rolling(window).mean().to_numpy()


def steps_to_recover(df: pd.DataFrame, market_shock_at: int, window: int = 1000, tolerance: float = 0.01) -> pd.DataFrame:
    """Steps after the shock until an agent's regret is back to its pre-shock level.

    For each run, the reference is the mean per-step regret over the ``window`` steps
    before the shock; the run has recovered at the first step ``s`` after the shock at
    which the mean regret over ``[s - window, s)`` (all after the shock) is within
    ``tolerance`` of the reference. Regret here is the noise-free expected regret, so
    the criterion is not fooled by click noise.

    Returns
    -------
    pandas.DataFrame
        Columns agent, seed, pre_shock_regret, steps_to_recover (NaN if it never
        recovered within the horizon).
    """
    market_shock_at = check_int("market_shock_at", market_shock_at, minimum=1)
    window = check_int("window", window, minimum=1)
    rows = []
    for (agent, seed), run in df.groupby(["agent", "seed"], observed=True):
        regret = run.sort_values("step")["regret"].to_numpy()
        before = regret[max(0, market_shock_at - window):market_shock_at].mean()
        after = moving_average(regret[market_shock_at:], window)
        hits = np.flatnonzero(after <= before + tolerance)
        rows.append({"agent": agent, "seed": seed, "pre_shock_regret": before,
                     "steps_to_recover": float(hits[0] + 1) if len(hits) else np.nan})
    return pd.DataFrame(rows)


def seconds_per_step(df: pd.DataFrame) -> pd.Series:
    """Mean wall time per step of each agent, from ``df.attrs["timings"]``."""
    timings: pd.DataFrame = df.attrs["timings"]
    horizon = df["step"].max() + 1
    return timings.groupby("agent", sort=False)["seconds"].mean() / horizon


__all__: list[Any] = [
    "run_comparison", "run_shock_experiment", "play", "play_with_and_without_shock", "make_agent", "cumulative_regret", "summarize",
    "moving_average", "steps_to_recover", "seconds_per_step",
]
