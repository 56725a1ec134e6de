"""Experiments: every agent on common random numbers, results as a tidy table.

One loop plays an agent in an environment (:func:`play`): at each step the context and
the step's info, ``predict``, the reward, ``update``. Everything else is bookkeeping
around it:

* :func:`run_environment_comparison` plays every agent on every seed's environment
  (``make_environment(seed)``): all agents of a seed meet the same contexts and the same
  noise (common random numbers). Runs are independent jobs, spread over processes with
  joblib (any joblib backend works, e.g. Dask or Ray on a cluster, through
  ``joblib.parallel_config``).
* :func:`run_comparison` and :func:`run_shock_experiment` are the same for the pet shop
  (:class:`~bandits_lib.envs.PetShopEnvironment`), the latter playing the stationary
  world and the market shock once up to the shock and then forking (:func:`play_fork`).
* Agents are given as *templates* -- an agent, cloned for each seed with
  ``agent.clone(seed=seed)`` -- or as factories ``seed -> agent``.

Taught in: chapters/03_6_showdown (design of the comparison), chapters/02_linucb,
chapters/appendix_performance (running on a cluster).
"""

from __future__ import annotations

import copy
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
from .envs.base import Environment
from .envs.petshop import PetShopEnvironment
from .params import parameter_names

AgentSpec = Union[BanditAgent, Callable[[int], BanditAgent]]


def make_agent(spec: AgentSpec, seed: int) -> BanditAgent:
    """The agent of one run: ``spec.clone(seed=seed)`` for an agent (``spec.clone()`` if it
    takes no seed), ``spec(seed)`` for a factory."""
    if isinstance(spec, BanditAgent):
        return spec.clone(seed=seed) if "seed" in parameter_names(type(spec)) else spec.clone()
    if not callable(spec):
        raise TypeError(f"agents values must be agents (cloned per seed) or factories seed -> agent, "
                        f"got {type(spec).__name__}")
    agent = spec(seed)
    if not isinstance(agent, BanditAgent):
        raise TypeError(f"an agent factory returned {type(agent).__name__}, expected a BanditAgent")
    return agent


# ---------------------------------------------------------------------- the loop
def play(agent: BanditAgent, environment: Environment, start: int = 0, stop: int | None = None,
         on_progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray | float]:
    """Play ``agent`` through steps ``start .. stop - 1`` of ``environment``: the online loop of the book.

    At each step: the context and the step's info, ``predict``, the reward, ``update``.

    Returns
    -------
    dict with ``step``, ``arm`` (int64), ``reward``, ``expected_reward`` and
    ``oracle_reward`` (float64), each shape (stop - start,), and ``seconds`` (wall time
    of the loop; the regret bookkeeping afterwards is not counted).
    """
    if not isinstance(environment, Environment):
        raise TypeError(f"environment must be an Environment such as PetShopEnvironment (context, info, reward, "
                        f"expected_reward, oracle_reward), got {type(environment).__name__}")
    stop = len(environment) if stop is None else stop
    if not 0 <= start <= stop <= len(environment):
        raise ValueError(f"start and stop must satisfy 0 <= start <= stop <= {len(environment)}, got {start}, {stop}")
    n = stop - start
    arms = np.zeros(n, dtype=np.int64)
    rewards = np.zeros(n)
    context, info, reward_of = environment.context, environment.info, environment.reward
    predict, update = agent.predict, agent.update
    begin = time.perf_counter()
    for i, t in enumerate(range(start, stop)):
        X = context(t)
        arm = predict(X, info(t))
        reward = reward_of(t, arm)
        update(arm, X[arm], reward)
        arms[i], rewards[i] = arm, reward
        if on_progress is not None and (i + 1) % 1000 == 0:
            on_progress(1000)
    seconds = time.perf_counter() - begin
    if on_progress is not None:
        on_progress(n % 1000)
    steps = np.arange(start, stop, dtype=np.int64)
    expected = np.array([environment.expected_reward(t, a) for t, a in zip(steps.tolist(), arms.tolist())],
                        dtype=np.float64)
    oracle = np.array([environment.oracle_reward(t) for t in steps.tolist()], dtype=np.float64)
    return {"step": steps, "arm": arms, "reward": rewards, "expected_reward": expected, "oracle_reward": oracle,
            "seconds": seconds}


def play_fork(agent: BanditAgent, environments: Mapping[str, Environment], fork_at: int,
              on_progress: Callable[[int], None] | None = None) -> dict[str, dict[str, np.ndarray | float]]:
    """Play ``agent`` through several environments that agree up to step ``fork_at``, sharing that part.

    Steps ``0 .. fork_at - 1`` are played once, in the first environment; then the agent
    is deep-copied and each copy finishes in its own environment. The environments must
    give the same contexts, info and rewards before ``fork_at`` (e.g. the pet shop with
    and without a market shock at ``fork_at``); the result then equals separate runs
    (tested). ``agent`` ends as the first environment's copy.

    Returns
    -------
    dict mapping each environment's name to what :func:`play` returns for the whole run.
    """
    names = list(environments)
    if not names:
        raise ValueError("environments must name at least one environment")
    first = environments[names[0]]
    prefix = play(agent, first, 0, fork_at, on_progress)
    twins = {name: copy.deepcopy(agent) for name in names[1:]}
    results = {}
    for name in names:
        rest = play(agent if name == names[0] else twins[name], environments[name], fork_at, None, on_progress)
        joined = {key: np.concatenate([prefix[key], rest[key]]) for key in prefix if key != "seconds"}
        joined["seconds"] = prefix["seconds"] + rest["seconds"]
        results[name] = joined
    return results


# ---------------------------------------------------------------------- many runs
def _job(name: str, spec: AgentSpec, seed: int, make_environment: Callable[[int], Any], fork_at: int | None,
         torch_threads: int, on_progress: Callable[[int], None] | None = None) -> tuple[str, int, dict, dict]:
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        worlds = make_environment(seed)
        if fork_at is None:
            worlds = {"run": worlds}
        elif not isinstance(worlds, Mapping):
            raise TypeError(f"with fork_at, make_environment({seed}) must return a mapping name -> Environment, "
                            f"got {type(worlds).__name__}")
        for world in worlds.values():
            if not isinstance(world, Environment):
                raise TypeError(f"make_environment({seed}) returned {type(world).__name__}, which lacks the "
                                "Environment methods (context, info, reward, expected_reward, oracle_reward)")
        agent = make_agent(spec, seed)
        if fork_at is None:
            out = {"run": play(agent, worlds["run"], on_progress=on_progress)}
        else:
            out = play_fork(agent, worlds, fork_at, on_progress)
        return name, seed, out, {key: _describe(world) for key, world in worlds.items()}
    finally:
        torch.set_num_threads(previous)


def _describe(environment: Environment) -> dict[str, dict[str, Any]]:
    """The environment's optional per-step and per-arm columns of the run table."""
    steps = environment.step_columns() if hasattr(environment, "step_columns") else {}
    arms = environment.arm_columns() if hasattr(environment, "arm_columns") else {}
    return {"steps": steps, "arms": arms}


def _check_seeds(seeds: object) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of distinct integers, got {type(seeds).__name__} {seeds!r}")
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers, got {seeds}")
    return seeds


def _check_run_inputs(agents: object, make_environment: object, seeds: object) -> list[int]:
    """The checks of every runner over (agent, seed) jobs; the seeds as a list of ints."""
    if not isinstance(agents, Mapping) or len(agents) == 0:
        raise ValueError("agents must be a non-empty mapping of name -> agent or factory")
    for name, spec in agents.items():
        if not (isinstance(spec, BanditAgent) or callable(spec)):
            raise TypeError(f"agents[{name!r}] must be an agent (cloned per seed) or a factory seed -> agent, "
                            f"got {type(spec).__name__}")
    if not callable(make_environment):
        raise TypeError(f"make_environment must be a callable seed -> Environment, got {type(make_environment).__name__}")
    return _check_seeds(seeds)


def run_environment_comparison(
    agents: Mapping[str, AgentSpec],
    make_environment: Callable[[int], Any],
    seeds: Sequence[int] = (0,),
    fork_at: int | None = None,
    n_jobs: int | None = None,
    torch_threads: int = 1,
    progress: bool = True,
    timeout: float | None = None,
) -> Any:
    """Every agent on every seed's environment, on common random numbers.

    Parameters
    ----------
    agents : mapping of str to agent or factory
        Name -> an agent (a template, cloned for each seed with ``clone(seed=seed)``)
        or a factory ``seed -> agent``.
    make_environment : callable
        ``seed -> Environment``; called once per run, so it must return the same world
        for the same seed (every agent of a seed meets the same contexts and noise).
        With ``fork_at``, ``seed -> {name: Environment}`` (see :func:`play_fork`).
    seeds : sequence of int, default (0,)
        One run per seed and agent; the seed drives the agent and the environment.
    fork_at : int, optional
        Play the environments of a seed together up to this step, then fork.
    n_jobs : int, optional
        Processes (joblib). Default: all cores, or 1 at smoke scale. Under a cluster
        backend (see Notes), ``-1`` means every worker of the cluster.
    torch_threads : int, default 1
        Threads per run; one thread makes results independent of ``n_jobs``.
    progress : bool, default True
        Show a progress bar (runs finished).
    timeout : float, optional
        Seconds any one run may take before joblib raises ``multiprocessing.TimeoutError``
        (parallel runs only). Useful on a cluster: see Notes.

    Returns
    -------
    pandas.DataFrame, or with ``fork_at`` a dict name -> DataFrame
        One row per (agent, seed, step): ``step, seed, agent``, the environment's step
        columns (e.g. ``user, persona``), ``arm``, its arm columns (e.g. ``category``),
        ``reward, expected_reward, oracle_reward, regret`` (regret = oracle minus
        expected reward of the arm played). ``df.attrs["timings"]`` holds each run's
        wall time.

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

    Agents and factories travel to the workers by (cloud)pickle, so lambdas work; the
    workers need ``bandits_lib`` installed. Give each worker process one thread
    (``threads_per_worker=1``): a job sets torch's thread count, which is per process.
    Tested with a local Dask cluster of worker processes (``tests/test_cluster_backends.py``):
    identical results to ``n_jobs=1``, and a worker killed in the middle of a run is
    retried by the Dask scheduler (up to ``distributed.scheduler.allowed-failures`` deaths
    per task, 3 by default) with exactly one result per run. Past that limit the task
    fails with ``KilledWorker``, which joblib's Dask backend (joblib 1.6) does not pass
    on: the call would wait forever. Pass ``timeout`` to turn that into a
    ``multiprocessing.TimeoutError`` (tested), or keep ``allowed-failures`` above the failures you expect.
    """
    seeds = _check_run_inputs(agents, make_environment, seeds)
    if fork_at is not None:
        fork_at = check_int("fork_at", fork_at, minimum=0)
    torch_threads = check_int("torch_threads", torch_threads, minimum=1)
    jobs = [(name, spec, seed) for seed in seeds for name, spec in agents.items()]
    if n_jobs is None:
        n_jobs = 1 if SMOKE else -1
    results: dict[tuple[str, int], tuple[dict, dict]] = {}
    bar = tqdm(total=len(jobs), desc="runs", disable=not progress, unit="run")
    if n_jobs == 1 or len(jobs) == 1:
        for name, spec, seed in jobs:
            results[name, seed] = _job(name, spec, seed, make_environment, fork_at, torch_threads)[2:]
            bar.update(1)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", timeout=timeout)
        for name, seed, out, described in parallel(
                delayed(_job)(name, spec, seed, make_environment, fork_at, torch_threads)
                for name, spec, seed in jobs):
            results[name, seed] = (out, described)
            bar.update(1)
    bar.close()
    variants = list(next(iter(results.values()))[0])
    tables = {variant: _table(agents, jobs, results, variant, fork_at) for variant in variants}
    return tables["run"] if fork_at is None else tables


def _table(agents: Mapping[str, AgentSpec], jobs: list, results: dict, variant: str,
           fork_at: int | None) -> pd.DataFrame:
    frames, timings = [], []
    for name, _, seed in jobs:
        outs, described = results[name, seed]
        out, columns = outs[variant], described[variant]
        n = len(out["arm"])
        frame = {"step": out["step"], "seed": np.full(n, seed, dtype=np.int64), "agent": np.full(n, name, dtype=object)}
        frame.update({key: values[out["step"]] for key, values in columns["steps"].items()})
        frame["arm"] = out["arm"]
        frame.update({key: values[out["arm"]] for key, values in columns["arms"].items()})
        frame.update({"reward": out["reward"], "expected_reward": out["expected_reward"],
                      "oracle_reward": out["oracle_reward"],
                      "regret": out["oracle_reward"] - out["expected_reward"]})
        frames.append(pd.DataFrame(frame))
        timings.append({"agent": name, "seed": seed, "seconds": out["seconds"],
                        "steps_per_second": n / max(out["seconds"], 1e-12)})
    df = pd.concat(frames, ignore_index=True)
    df["agent"] = pd.Categorical(df["agent"], categories=list(agents))
    df.attrs["timings"] = pd.DataFrame(timings)
    df.attrs["market_shock_at"] = fork_at if variant == "shock" else None
    return df


class _PetShopWorlds:
    """``seed -> PetShopEnvironment`` (or the stationary and shocked pair), picklable for joblib."""

    def __init__(self, n_interactions: int, n_products: int, n_users: int, simulator_seed: int | None,
                 market_shock_at: int | None, fork: bool) -> None:
        self.arguments = (n_interactions, n_products, n_users, simulator_seed, market_shock_at, fork)

    def __call__(self, seed: int) -> Any:
        n, n_products, n_users, simulator_seed, shock, fork = self.arguments
        world_seed = seed if simulator_seed is None else simulator_seed

        def shop(market_shock_at: int | None) -> PetShopEnvironment:
            return PetShopEnvironment(n, seed=world_seed, n_products=n_products, n_users=n_users,
                                      market_shock_at=market_shock_at)

        return {"stationary": shop(None), "shock": shop(shock)} if fork else shop(shock)


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
    timeout: float | None = None,
) -> pd.DataFrame:
    """Every agent on every seed's pet shop, on common random numbers.

    Parameters
    ----------
    agents : mapping of str to agent or factory
        Name -> an agent (cloned for each seed) or a factory ``seed -> agent``.
    n_interactions : int
        Horizon ``T``.
    market_shock_at : int, optional
        Step from which the shocked preferences hold (``introduce_market_shock``).
    seeds : sequence of int, default (0,)
        One run per seed and agent. The seed drives the agent and, unless
        ``simulator_seed`` is given, the world (catalogue, personas, users, clicks).
    n_products, n_users : int
        Size of the simulated shop.
    simulator_seed : int, optional
        Keep one world for every seed (only the agents' seeds vary), e.g. 42 to
        replay the draft's own sequence of users and clicks.
    n_jobs, torch_threads, progress, timeout
        As for :func:`run_environment_comparison` (which this calls with
        :class:`~bandits_lib.envs.PetShopEnvironment`).

    Returns
    -------
    pandas.DataFrame
        One row per (agent, seed, step): ``step, seed, agent, user, persona, arm,
        category, reward, expected_reward, oracle_reward, regret``, where ``regret`` is
        the oracle CTR minus the true CTR of the chosen arm. ``df.attrs["timings"]``
        holds the wall time of every run.
    """
    worlds = _pet_shop_worlds(n_interactions, market_shock_at, n_products, n_users, simulator_seed, fork=False)
    df = run_environment_comparison(agents, worlds, seeds, None, n_jobs, torch_threads, progress, timeout)
    df.attrs["market_shock_at"] = market_shock_at
    return df


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
    timeout: float | None = None,
) -> dict[str, pd.DataFrame]:
    """The stationary world and the market shock, on the same users, clicks and seeds.

    Equivalent to ``run_comparison(...)`` and ``run_comparison(..., market_shock_at=...)``
    with the same arguments, but the common first part of each run is played once (see
    :func:`play_fork`). Parameters as :func:`run_comparison`.

    Returns
    -------
    dict with keys ``"stationary"`` and ``"shock"``, each a table as :func:`run_comparison` returns.
    """
    if market_shock_at is None:
        raise ValueError("market_shock_at must be an integer step for a shock experiment, got None")
    worlds = _pet_shop_worlds(n_interactions, market_shock_at, n_products, n_users, simulator_seed, fork=True)
    return run_environment_comparison(agents, worlds, seeds, market_shock_at, n_jobs, torch_threads, progress,
                                      timeout)


def _pet_shop_worlds(n_interactions: int, market_shock_at: int | None, n_products: int, n_users: int,
                     simulator_seed: int | None, fork: bool) -> _PetShopWorlds:
    n_interactions = check_int("n_interactions", n_interactions, minimum=1)
    if market_shock_at is not None:
        market_shock_at = check_int("market_shock_at", market_shock_at, minimum=0)
        if market_shock_at >= n_interactions:
            raise ValueError(f"market_shock_at must be < n_interactions ({n_interactions}), got {market_shock_at}")
    n_products = check_int("n_products", n_products, minimum=1)
    n_users = check_int("n_users", n_users, minimum=1)
    if simulator_seed is not None:
        simulator_seed = check_int("simulator_seed", simulator_seed, minimum=0)
    return _PetShopWorlds(n_interactions, n_products, n_users, simulator_seed, market_shock_at, fork)


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


__all__ = [
    "play", "play_fork", "make_agent", "run_environment_comparison", "run_comparison", "run_shock_experiment",
    "cumulative_regret", "summarize", "moving_average", "steps_to_recover", "seconds_per_step",
]
