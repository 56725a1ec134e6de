r"""Diagnostics: why an agent falls behind, read from its own decisions.

A UCB agent plays :math:`a_t = \argmax_a s_{t,a}` with :math:`s_{t,a} = \hat\mu_{t,a} + \alpha
w_{t,a}`. When :math:`a_t` is not a best arm (an arm of the highest true expected reward),
one of two things went wrong:

* **the mean**: the agent's own estimate already ranks the played arm at least as high as
  every best arm, :math:`\hat\mu_{t,a_t} \ge \max_{a \in O_t} \hat\mu_{t,a}` (:math:`O_t` the
  best arms). A greedy agent with the same estimates would have erred too: the estimates
  are wrong.
* **the bonus**: some best arm has the higher estimate, and the exploration bonus
  :math:`\alpha w_{t,a}` tipped the choice. This is exploration: deliberate, and paid
  for by the bonus.

An agent that falls behind through the first kind has estimates that have not settled (or
settled wrong); through the second, it keeps exploring where it need not.

* :class:`DecisionRecorder` -- an exploration rule that wraps another and keeps the
  (mean, width, choice) of every decision, per arm; the agent plays exactly as with the
  wrapped rule (tested).
* :func:`record_decisions` -- plays one agent with the book's loop
  (:func:`~bandits_lib.experiments.play`; for a pair of worlds that agree up to a step,
  the shared part once, as :func:`~bandits_lib.experiments.play_fork`) and returns every
  decision with its cause.
* :func:`run_decisions` -- the same for several agents and seeds, in parallel (joblib);
  with the same agents and seeds as a :func:`~bandits_lib.experiments.run_shock_experiment`
  it replays those very runs (the same arms, step for step).
* :func:`cause_shares` -- the share of wrong picks, and of the regret they cost, by cause.

Taught in: chapters/03_6_showdown.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed

from ._validation import check_int
from .agents.base import BanditAgent
from .config import SMOKE
from .envs.base import Environment
from .experiments import AgentSpec, _check_run_inputs, make_agent, play
from .exploration import ExplorationRule, make_rule
from .params import parameter_names

#: The causes a decision is put down to, in the order tables list them.
CAUSES = ("best arm", "mean", "bonus")


class DecisionRecorder(ExplorationRule):
    r"""An exploration rule that decides as ``rule`` does and keeps every decision.

    It asks the agent for one (mean, width) per *arm* (``rows_suffice = False``): agents
    that score each distinct feature row once expand their scores to the arms, which
    changes no decision (the first maximum over the arms is the first arm of the best
    row; see :class:`~bandits_lib.agents.base.BanditAgent`).

    Parameters
    ----------
    rule : {"ucb", "thompson"} or ExplorationRule, default "ucb"
        The rule that decides.

    Attributes
    ----------
    means, widths : list of torch.Tensor, each shape (n_arms,)
        :math:`\hat\mu_{t,a}` and :math:`w_{t,a}` of every decision, in order (copies, in the
        agent's dtype).
    choices : list of int
        The arm each decision played.
    alphas : list of float
        The agent's :math:`\alpha` at each decision (the bonus is ``alpha * width``).

    Examples
    --------
    >>> import torch
    >>> from bandits_lib import LinUCBAgent
    >>> agent = LinUCBAgent(3, 2, alpha=1.0, exploration=DecisionRecorder())
    >>> arm = agent.predict(torch.eye(3, 2))
    >>> recorder = agent.exploration
    >>> len(recorder.choices), tuple(recorder.means[0].shape)
    (1, (3,))
    """

    rows_suffice = False

    def __init__(self, rule: str | ExplorationRule = "ucb") -> None:
        self.rule = rule
        self._decide = make_rule("rule", rule)
        self.means: list[torch.Tensor] = []
        self.widths: list[torch.Tensor] = []
        self.choices: list[int] = []
        self.alphas: list[float] = []

    def generator(self, seed: int | None) -> Any:
        return self._decide.generator(seed)

    def choose(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: Any) -> int:
        arm = self._decide.choose(mean, width, alpha, rng)
        self.means.append(mean.detach().clone())
        self.widths.append(width.detach().clone())
        self.choices.append(int(arm))
        self.alphas.append(float(alpha))
        return arm

    def __len__(self) -> int:
        return len(self.choices)


def with_recorder(agent: BanditAgent) -> BanditAgent:
    """A fresh clone of ``agent`` (same parameters, nothing learned) whose rule is wrapped in a
    :class:`DecisionRecorder`; the recorder is the clone's ``exploration`` attribute."""
    if not isinstance(agent, BanditAgent):
        raise TypeError(f"agent must be a BanditAgent, got {type(agent).__name__}")
    if not _records(agent):
        raise ValueError(f"{type(agent).__name__} takes no exploration rule (it does not score arms), "
                         "so its decisions cannot be recorded")
    return agent.clone(exploration=DecisionRecorder(agent.exploration))


def classify(recorder: DecisionRecorder | None, environment: Environment, start: int,
             played: Mapping[str, Any]) -> pd.DataFrame:
    r"""The steps of ``played`` as rows of a run table, each decision with its cause.

    Parameters
    ----------
    recorder : DecisionRecorder or None
        Its decisions from index ``start`` on are the steps ``played["step"]``; ``None``
        for an agent that does not score arms (e.g. the random agent): no cause then.
    environment : Environment
        The world those steps were played in (for the true expected rewards and the
        environment's own columns).
    start : int
        Index, among the recorder's decisions, of the first step of ``played``.
    played : mapping
        What :func:`~bandits_lib.experiments.play` returned for those steps.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step``, the environment's step columns (e.g. ``user,
        persona``), ``arm``, its arm columns (e.g. ``category``), ``reward,
        expected_reward, oracle_reward, regret`` (as in a run table of
        :func:`~bandits_lib.experiments.run_environment_comparison`), then ``cause`` (one
        of :data:`CAUSES`) and ``chosen_mean, chosen_bonus, best_mean, best_bonus``: the
        played arm's estimate and bonus, and those of the best arm with the highest
        estimate (equal to the played arm's when it is a best arm).
    """
    steps = np.asarray(played["step"])
    arms = np.asarray(played["arm"])
    n = len(steps)
    regret = np.asarray(played["oracle_reward"]) - np.asarray(played["expected_reward"])
    table: dict[str, Any] = {"step": steps}
    if hasattr(environment, "step_columns"):
        table.update({key: values[steps] for key, values in environment.step_columns().items()})
    table["arm"] = arms
    if hasattr(environment, "arm_columns"):
        table.update({key: values[arms] for key, values in environment.arm_columns().items()})
    table.update({"reward": np.asarray(played["reward"]), "expected_reward": np.asarray(played["expected_reward"]),
                  "oracle_reward": np.asarray(played["oracle_reward"]), "regret": regret})
    if recorder is None:
        missing = np.full(n, np.nan)
        table.update({"cause": pd.Categorical.from_codes(np.full(n, -1), categories=list(CAUSES)),
                      "chosen_mean": missing, "chosen_bonus": missing, "best_mean": missing, "best_bonus": missing})
        return pd.DataFrame(table)
    if len(recorder) - start < n:
        raise ValueError(f"the recorder holds {len(recorder) - start} decisions from index {start}, "
                         f"but {n} steps were played")
    if not np.array_equal(np.asarray(recorder.choices[start:start + n], dtype=np.int64), arms.astype(np.int64)):
        raise ValueError("the recorded choices differ from the arms played")
    if n == 0:
        means = widths = np.zeros((0, 1))
    else:
        means = torch.stack(recorder.means[start:start + n]).to(torch.float64).cpu().numpy()
        widths = torch.stack(recorder.widths[start:start + n]).to(torch.float64).cpu().numpy()
    alphas = np.asarray(recorder.alphas[start:start + n], dtype=float)
    index = np.arange(n)
    chosen_mean, chosen_bonus = means[index, arms], alphas * widths[index, arms]
    best_mean, best_bonus = chosen_mean.copy(), chosen_bonus.copy()
    for i in np.flatnonzero(regret > 0):  # wrong picks: the best arms of that step
        expected = _expected_rewards(environment, int(steps[i]), means.shape[1])
        best = np.flatnonzero(expected >= expected.max())
        top = best[np.argmax(means[i, best])]
        best_mean[i], best_bonus[i] = means[i, top], alphas[i] * widths[i, top]
    cause = np.where(regret <= 0, 0, np.where(chosen_mean >= best_mean, 1, 2))
    table.update({"cause": pd.Categorical.from_codes(cause, categories=list(CAUSES)),
                  "chosen_mean": chosen_mean, "chosen_bonus": chosen_bonus, "best_mean": best_mean,
                  "best_bonus": best_bonus})
    return pd.DataFrame(table)


def _expected_rewards(environment: Environment, t: int, n_arms: int) -> np.ndarray:
    """True expected reward of every arm at step ``t`` (from ``info(t)["expected_rewards"]`` if given)."""
    given = environment.info(t).get("expected_rewards")
    if given is not None:
        return np.asarray(given, dtype=float)
    return np.array([environment.expected_reward(t, a) for a in range(n_arms)], dtype=float)


def _records(agent: BanditAgent) -> bool:
    return "exploration" in parameter_names(type(agent))


def record_decisions(agent: BanditAgent, environment: Environment | Mapping[str, Environment],
                     fork_at: int | None = None) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Play a fresh clone of ``agent`` in ``environment`` and classify every decision.

    Parameters
    ----------
    agent : BanditAgent
        A template: cloned (nothing learned is copied), with a :class:`DecisionRecorder`
        around its rule; the template itself is not changed. An agent without an
        exploration rule (the random agent) is cloned and played without causes.
    environment : Environment or mapping of str to Environment
        One world, or with ``fork_at`` several that agree before ``fork_at`` (e.g. the pet
        shop with and without a market shock there): the common part is played once, in
        the first, then a copy of the agent finishes each world (as
        :func:`~bandits_lib.experiments.play_fork`).
    fork_at : int, optional

    Returns
    -------
    pandas.DataFrame, or with ``fork_at`` a dict world name -> DataFrame
        As :func:`classify` returns, for every step from 0; ``attrs["seconds"]`` is the
        wall time of the agent's loop (the classification afterwards not counted).
    """
    if not isinstance(agent, BanditAgent):
        raise TypeError(f"agent must be a BanditAgent, got {type(agent).__name__}")
    player = with_recorder(agent) if _records(agent) else agent.clone()

    def recorder_of(a: BanditAgent) -> DecisionRecorder | None:
        return a.exploration if _records(a) else None

    if fork_at is None:
        if not isinstance(environment, Environment):
            raise TypeError(f"environment must be an Environment, got {type(environment).__name__}")
        played = play(player, environment)
        table = classify(recorder_of(player), environment, 0, played)
        table.attrs["seconds"] = played["seconds"]
        return table
    fork_at = check_int("fork_at", fork_at, minimum=0)
    if not isinstance(environment, Mapping) or not environment:
        raise TypeError("with fork_at, environment must be a non-empty mapping name -> Environment")
    for world in environment.values():
        if not isinstance(world, Environment):
            raise TypeError(f"environment values must be Environments, got {type(world).__name__}")
    names = list(environment)
    first = environment[names[0]]
    shared = play(player, first, 0, fork_at)
    prefix = classify(recorder_of(player), first, 0, shared)
    twins = {name: copy.deepcopy(player) for name in names[1:]}  # each with its own copy of the recorder
    out = {}
    for name in names:
        current = player if name == names[0] else twins[name]
        rest = play(current, environment[name], fork_at)
        table = pd.concat([prefix, classify(recorder_of(current), environment[name], fork_at, rest)],
                          ignore_index=True)
        table.attrs["seconds"] = shared["seconds"] + rest["seconds"]
        out[name] = table
    return out


def _decisions_job(name: str, spec: AgentSpec, seed: int, make_environment: Callable[[int], Any],
                   fork_at: int | None, torch_threads: int) -> tuple[str, int, Any]:
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        return name, seed, record_decisions(make_agent(spec, seed), make_environment(seed), fork_at)
    finally:
        torch.set_num_threads(previous)


def run_decisions(agents: Mapping[str, AgentSpec], make_environment: Callable[[int], Any],
                  seeds: Sequence[int] = (0,), fork_at: int | None = None, n_jobs: int | None = None,
                  torch_threads: int = 1) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Every agent on every seed's environment, each decision recorded and classified.

    The runs of :func:`~bandits_lib.experiments.run_environment_comparison` (same agents,
    seeds and worlds: the same arms, step for step; tested), with the decision columns of
    :func:`classify` added to the run table.

    Parameters
    ----------
    agents : mapping of str to agent or factory
        Name -> an agent (a template, cloned with ``clone(seed=seed)``) or a factory
        ``seed -> agent``.
    make_environment : callable
        ``seed -> Environment`` (with ``fork_at``: ``seed -> {name: Environment}``).
    seeds : sequence of int
    fork_at : int, optional
        Play the worlds of a seed together up to this step, then fork.
    n_jobs : int, optional
        Processes (joblib); default all cores, or 1 at smoke scale.
    torch_threads : int, default 1

    Returns
    -------
    pandas.DataFrame, or with ``fork_at`` a dict world name -> DataFrame
        ``step, seed, agent`` (categorical, in the order of ``agents``) and the columns of
        :func:`classify`; ``attrs["timings"]`` holds each run's wall time (agent, seed,
        seconds, steps_per_second).
    """
    seeds = _check_run_inputs(agents, make_environment, seeds)
    torch_threads = check_int("torch_threads", torch_threads, minimum=1)
    jobs = [(name, spec, seed) for seed in seeds for name, spec in agents.items()]
    if n_jobs is None:
        n_jobs = 1 if SMOKE else -1
    if n_jobs == 1 or len(jobs) == 1:
        results = [_decisions_job(name, spec, seed, make_environment, fork_at, torch_threads)
                   for name, spec, seed in jobs]
    else:
        results = Parallel(n_jobs=n_jobs)(delayed(_decisions_job)(name, spec, seed, make_environment, fork_at,
                                                                  torch_threads) for name, spec, seed in jobs)
    worlds = ["run"] if fork_at is None else list(results[0][2])
    tables = {}
    for world in worlds:
        frames, timings = [], []
        for name, seed, out in results:
            frame = out if fork_at is None else out[world]
            frames.append(frame.assign(seed=seed, agent=name))
            timings.append({"agent": name, "seed": seed, "seconds": frame.attrs["seconds"],
                            "steps_per_second": len(frame) / max(frame.attrs["seconds"], 1e-12)})
        table = pd.concat(frames, ignore_index=True)
        table["agent"] = pd.Categorical(table["agent"], categories=list(agents))
        first = ["step", "seed", "agent"]
        table = table[first + [c for c in table.columns if c not in first]]
        table.attrs["timings"] = pd.DataFrame(timings)
        tables[world] = table
    return tables["run"] if fork_at is None else tables


def cause_shares(decisions: pd.DataFrame, by: str | Sequence[str] = "agent") -> pd.DataFrame:
    """Wrong picks and the regret they cost, by cause, per group.

    Parameters
    ----------
    decisions : pandas.DataFrame
        A table from :func:`run_decisions` (or :func:`record_decisions`).
    by : str or sequence of str, default "agent"
        Columns to group by (e.g. ``["agent", "phase"]``).

    Returns
    -------
    pandas.DataFrame
        Per group: ``decisions``, ``wrong`` (share of decisions that played a worse arm),
        ``by mean`` and ``by bonus`` (shares of the wrong picks), ``regret`` (total),
        ``regret by mean`` and ``regret by bonus`` (shares of the regret). Steps without a
        cause (an agent that does not score arms) count in ``decisions``, ``wrong`` and
        ``regret`` only; their shares by cause are NaN.

    Examples
    --------
    >>> table = pd.DataFrame({"agent": ["a"] * 4, "regret": [0.0, 0.1, 0.3, 0.0],
    ...                       "cause": pd.Categorical(["best arm", "mean", "bonus", "best arm"], categories=CAUSES)})
    >>> cause_shares(table).loc["a", ["wrong", "by mean", "regret by bonus"]].round(2).tolist()
    [0.5, 0.5, 0.75]
    """
    by = [by] if isinstance(by, str) else list(by)
    keys = [decisions[c] for c in by]
    grouped = decisions.groupby(keys, observed=True)
    n_wrong = (decisions["regret"] > 0).groupby(keys, observed=True).sum()
    n_classified = (decisions["regret"] > 0).where(decisions["cause"].notna(), False).groupby(keys, observed=True).sum()
    regret = grouped["regret"].sum()
    regret_classified = decisions["regret"].where(decisions["cause"].notna(), 0.0).groupby(keys, observed=True).sum()
    out = pd.DataFrame({"decisions": grouped.size(), "wrong": n_wrong / grouped.size()})
    for cause in ("mean", "bonus"):
        mask = decisions["cause"] == cause
        count = mask.groupby(keys, observed=True).sum()
        cost = decisions["regret"].where(mask, 0.0).groupby(keys, observed=True).sum()
        out[f"by {cause}"] = (count / n_classified.where(n_classified > 0)).astype(float)
        out[f"regret by {cause}"] = (cost / regret_classified.where(regret_classified > 0)).astype(float)
    out["regret"] = regret
    return out[["decisions", "wrong", "by mean", "by bonus", "regret", "regret by mean", "regret by bonus"]]


__all__ = ["CAUSES", "DecisionRecorder", "with_recorder", "classify", "record_decisions", "run_decisions",
           "cause_shares"]
