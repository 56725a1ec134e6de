#!/usr/bin/env python
"""NeuralUCB as published (issue 13): how the network is trained decides the regret.

Run on demand (never a timed test), from the repository root:

    PYTHONPATH=. nice -n 10 python benchmarks/neuralucb_training.py            # synthetic part, full scale
    PYTHONPATH=. nice -n 10 python benchmarks/neuralucb_training.py --quick    # smoke check, ~2 min, writes nothing
    PYTHONPATH=. nice -n 10 python benchmarks/neuralucb_training.py --part petshop

Synthetic part: the paper's problems (``bandits_lib.envs.synthetic.SyntheticBandit``, d = 20,
K = 4, T = 3,000, noise sd 0.1, contexts on the unit sphere), h(x) = cos(3 a^T x) and
h(x) = 10 (a^T x)^2, network Linear(20, 100)-ReLU-Linear(100, 1), lambda = 1e-3, nu = 1
(the library's ``alpha = sqrt(lambda * nu)`` with the diagonal confidence starting at
lambda). Agents, all on the same environment seed and the same initial weights per seed
(common random numbers, paired comparisons):

* the reference-code-style agent (``ReferenceNeuralUCBDiag``): regret from its numba
  backend on every seed; time per step from its torch backend (the authors' way of
  computing) on the first ``--torch-seeds`` seeds of each problem, full horizon;
* the library agent as it is today ("online": one Adam step on the newest observation);
* "history" training (``HistoryTraining``) at several (H = train_every, J = steps,
  batch size) settings, and the regret-vs-H curve at fixed J.

Seeds. The settings were chosen on seeds 0 and 1 (screening runs); the benchmark uses
other seeds (``--first-seed``, default 100) so that the reported regrets are not
selected on their own noise.

Timing. Each run is one process-local job (joblib, ``--jobs`` processes, one torch thread
each). Seconds per step are the run's CPU time (``time.process_time``) over the whole
horizon, environment included: on a machine shared with other jobs that is the time an
idle core would take (wall time is recorded next to it). Every job first warms up (numba
compilation, first torch calls) on a throwaway agent.

Statistics. For each setting: mean +- sd of the total regret over seeds, and the paired
difference to the reference agent (same seed) with a t-based 95% interval.

Pet-shop part (``--part petshop``): NeuralUCB with ``confidence="full"`` and
``"diagonal"``, online vs history training, networks (32, 16) and (128, 64), on
``ZooplusSimulator`` (50 products), regret after ``--petshop-steps`` steps and CPU
seconds per step, through ``run_comparison`` (common random numbers).

Results: ``benchmarks/results/neuralucb_training.json`` (everything, with the machine),
``neuralucb_training_runs.csv`` (one row per run), ``neuralucb_training_summary.csv``
(one row per setting and problem), and ``neuralucb_training_petshop.{json,csv}``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results"
sys.path.insert(0, str(HERE.parent))

LAMBDA = 1e-3
NU = 1.0
WIDTH = 100
D, K = 20, 4
PROBLEMS = ("cosine", "quadratic")
#: The weight decay of the authors' code (weight_decay = lambda on single samples) as a per-sample penalty:
#: c ||theta||^2 with gradient 2 c theta = lambda theta.
CODE_DECAY = {"regularization": LAMBDA / 2, "anchor": "zero", "penalty": "per_sample"}
SGD = {"batch_size": 64, "lr": 0.3}


def history(train_every: int, steps: int = 100, **extra) -> dict:
    return {"kind": "history", "options": {"steps": steps, "train_every": train_every, **SGD, **CODE_DECAY, **extra}}


def settings(quick: bool) -> dict[str, dict]:
    """Name -> agent setting, in the order of the table."""
    table = {
        "reference (authors' code)": {"kind": "reference"},
        "online (library today)": {"kind": "online"},
        "history H=1 J=100 (every round)": history(1),
        "history H=10 J=100": history(10),
        "history H=100 J=100, every round before t=200": history(100, dense_until=200),
        "history H=10 J=80 Adam": {"kind": "history", "options": {
            "steps": 80, "train_every": 10, "batch_size": 64, "lr": 3e-3, "optimizer": "adam", **CODE_DECAY}},
        "history H=10 J=100, paper's regulariser": {"kind": "history", "options": {
            "steps": 100, "train_every": 10, **SGD, "regularization": LAMBDA, "anchor": "initial",
            "penalty": "total"}},
    }
    if not quick:
        for H in (3, 30, 100, 300):  # the regret-vs-H curve at J = 100 (H = 1 and 10 above)
            table[f"history H={H} J=100"] = history(H)
        for dense in (50, 500):  # how long to train every round before switching to H = 100
            table[f"history H=100 J=100, every round before t={dense}"] = history(100, dense_until=dense)
    return table


H_CURVE = {1: "history H=1 J=100 (every round)", 3: "history H=3 J=100", 10: "history H=10 J=100",
           30: "history H=30 J=100", 100: "history H=100 J=100", 300: "history H=300 J=100"}
RECOMMENDED = "history H=100 J=100, every round before t=200"
EVERY_ROUND = "history H=1 J=100 (every round)"
REFERENCE = "reference (authors' code)"


# ---------------------------------------------------------------------------- one run
def make_agent(setting: dict, seed: int, backend: str = "numba", feature_dim: int = D):
    """The agent of ``setting`` (kind "reference", "online" or "history"; optional "agent" keyword overrides)."""
    from bandits_lib import NeuralUCBAgent
    from bandits_lib.reference import ReferenceNeuralUCBDiag

    if setting["kind"] == "reference":
        return ReferenceNeuralUCBDiag(feature_dim, width=WIDTH, lambda_=LAMBDA, nu=NU, seed=seed, backend=backend)
    keywords = {"hidden_dims": (WIDTH,), "lambda_": LAMBDA, "alpha": math.sqrt(LAMBDA * NU), "lr": 1e-3,
                "confidence": "diagonal", "jacobian": "analytic", **setting.get("agent", {})}
    return NeuralUCBAgent(feature_dim, seed=seed, training=setting["kind"],
                                 training_options=setting.get("options"), **keywords)


def make_environment(problem: str, T: int, seed: int):
    from bandits_lib import PetShopEnvironment
    from bandits_lib.envs.synthetic import SyntheticBandit

    if problem == "petshop":
        return PetShopEnvironment(T, seed=seed, n_products=50)
    return SyntheticBandit(problem, n_rounds=T, n_arms=K, feature_dim=D, noise_sd=0.1, seed=seed)


def play(agent, environment) -> dict:
    """predict / reward / update over the environment; regret per step, CPU and wall seconds."""
    n = len(environment)
    regret = np.zeros(n)
    cpu, wall = time.process_time(), time.perf_counter()
    for t in range(n):
        X = environment.context(t)
        arm = agent.predict(X)
        agent.update(arm, X[arm], environment.reward(t, arm))
        regret[t] = environment.oracle_reward(t) - environment.expected_reward(t, arm)
    return {"regret": regret, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}


def run_one(name: str, setting: dict, problem: str, seed: int, T: int, backend: str = "numba") -> dict:
    import torch

    torch.set_num_threads(1)
    environment = make_environment(problem, T, seed)
    feature_dim = environment.feature_dim
    warm = make_environment(problem, 3, seed + 10_000)  # compile and warm up on a throwaway agent
    play(make_agent(setting, seed, backend, feature_dim), warm)
    agent = make_agent(setting, seed, backend, feature_dim)
    out = play(agent, environment)
    cumulative = np.cumsum(out["regret"])
    trainer = getattr(agent, "trainer", None)
    train_steps = (trainer.n_steps if trainer is not None
                   else getattr(agent, "n_train_steps", agent.t))  # online: one Adam step per round
    return {"setting": name, "problem": problem, "seed": seed, "backend": backend if setting["kind"] == "reference"
            else "", "T": T, "regret": float(cumulative[-1]),
            "regret_curve": [float(cumulative[i - 1]) for i in range(100, T + 1, 100)],
            "cpu_seconds_per_step": out["cpu"] / T, "wall_seconds_per_step": out["wall"] / T,
            "gradient_steps": int(train_steps)}


# ---------------------------------------------------------------------------- statistics
def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and t-based 95% interval of ``values``."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def summarise(runs: list[dict], names: list[str]) -> list[dict]:
    rows = []
    for problem in PROBLEMS:
        by = {(r["setting"], r["seed"]): r for r in runs if r["problem"] == problem and r["backend"] != "torch"}
        torch_runs = [r for r in runs if r["problem"] == problem and r["backend"] == "torch"]
        reference = {seed: r["regret"] for (name, seed), r in by.items() if name == REFERENCE}
        cost = {}
        for name in names:
            seeds = sorted(seed for (n, seed) in by if n == name)
            if seeds:
                cost[name] = float(np.mean([by[name, s]["cpu_seconds_per_step"] for s in seeds]))
        reference_cost = (float(np.mean([r["cpu_seconds_per_step"] for r in torch_runs])) if torch_runs
                          else float("nan"))
        for name in names:
            seeds = sorted(seed for (n, seed) in by if n == name)
            if not seeds:
                continue
            regrets = np.array([by[name, s]["regret"] for s in seeds])
            paired = [s for s in seeds if s in reference]
            diff = np.array([by[name, s]["regret"] - reference[s] for s in paired])
            d_mean, d_low, d_high = t_interval(diff) if len(diff) else (float("nan"),) * 3
            seconds = cost[name] if name != REFERENCE or not torch_runs else reference_cost
            rows.append({
                "problem": problem, "setting": name, "n_seeds": len(seeds),
                "regret_mean": float(regrets.mean()),
                "regret_sd": float(regrets.std(ddof=1)) if len(seeds) > 1 else 0.0,
                "diff_vs_reference_mean": d_mean, "diff_vs_reference_ci_low": d_low,
                "diff_vs_reference_ci_high": d_high,
                "cpu_seconds_per_step": seconds,
                "speedup_vs_reference_torch": reference_cost / seconds if seconds else float("nan"),
                "speedup_vs_history_every_round": cost.get(EVERY_ROUND, float("nan")) / seconds,
                "gradient_steps_mean": float(np.mean([by[name, s]["gradient_steps"] for s in seeds])),
                "timing_note": (f"torch backend, {len(torch_runs)} full run(s); regret from the numba backend"
                                if name == REFERENCE and torch_runs else ""),
            })
        for r in torch_runs:
            rows.append({"problem": problem, "setting": f"{REFERENCE}, torch backend (seed {r['seed']})",
                         "n_seeds": 1, "regret_mean": r["regret"], "regret_sd": 0.0,
                         "diff_vs_reference_mean": r["regret"] - reference.get(r["seed"], float("nan")),
                         "diff_vs_reference_ci_low": float("nan"), "diff_vs_reference_ci_high": float("nan"),
                         "cpu_seconds_per_step": r["cpu_seconds_per_step"], "speedup_vs_reference_torch": 1.0,
                         "speedup_vs_history_every_round": cost.get(EVERY_ROUND, float("nan"))
                         / r["cpu_seconds_per_step"], "gradient_steps_mean": r["gradient_steps"],
                         "timing_note": "same seed as the numba row's first seed"})
    return rows


def print_table(rows: list[dict]) -> None:
    for problem in PROBLEMS:
        print(f"\n== h = {problem}: total regret at T (mean +- sd over seeds); paired difference to the reference "
              f"(t 95% CI); CPU ms per step; speed-up vs the reference (torch) and vs history every round")
        print(f"{'setting':58s} {'regret':>15s} {'diff vs ref [95% CI]':>27s} {'ms/step':>8s} {'x ref':>7s} "
              f"{'x H=1':>6s}")
        for r in rows:
            if r["problem"] != problem:
                continue
            ci = ("" if math.isnan(r["diff_vs_reference_ci_low"])
                  else f"[{r['diff_vs_reference_ci_low']:+.1f}, {r['diff_vs_reference_ci_high']:+.1f}]")
            print(f"{r['setting'][:58]:58s} {r['regret_mean']:8.1f} +-{r['regret_sd']:5.1f} "
                  f"{r['diff_vs_reference_mean']:+8.1f} {ci:>18s} {1e3 * r['cpu_seconds_per_step']:8.2f} "
                  f"{r['speedup_vs_reference_torch']:7.1f} {r['speedup_vs_history_every_round']:6.1f}")


# ---------------------------------------------------------------------------- pet shop
#: History training for the pet shop (clicks, 50 arms, 9 features); see petshop_settings.
#: Chosen on seeds 0-3 (5,000 steps) among H/J/lr/Adam variants: none was clearly better than online there.
PETSHOP_HISTORY = {"steps": 100, "train_every": 50, "batch_size": 64, "lr": 0.05,
                   "regularization": 1e-3 / 2, "anchor": "zero", "penalty": "per_sample"}


def petshop_settings(quick: bool, full_seeds: int, seeds: int) -> list[tuple[str, dict, int]]:
    """(name, setting, number of seeds): the showdown's NeuralUCB (alpha 1.5, lambda 1, Adam 1e-3 online)."""
    out = []
    for hidden in ((32, 16), (128, 64)):
        for confidence in ("diagonal", "full"):
            for training in ("online", "history"):
                setting = {"kind": training, "agent": {"hidden_dims": hidden, "lambda_": 1.0, "alpha": 1.5,
                                                       "lr": 1e-3, "confidence": confidence}}
                if training == "history":
                    setting["options"] = dict(PETSHOP_HISTORY)
                expensive = confidence == "full" and hidden == (128, 64)
                n = 2 if quick else (full_seeds if expensive else seeds)
                out.append((f"NeuralUCB {confidence} {hidden[0]}x{hidden[1]} {training}", setting, n))
    return out


def petshop(args) -> dict:
    from joblib import Parallel, delayed

    T = 300 if args.quick else args.petshop_steps
    table = petshop_settings(args.quick, args.petshop_full_seeds, args.petshop_seeds)
    jobs = [(name, setting, "petshop", seed, T) for name, setting, n in table
            for seed in range(args.first_seed, args.first_seed + n)]
    jobs.sort(key=lambda job: "full 128" not in job[0])  # the long runs first
    print(f"pet shop: {len(jobs)} runs on {args.jobs} processes (T={T})", flush=True)
    runs = Parallel(n_jobs=args.jobs, verbose=5)(delayed(run_one)(*job) for job in jobs)
    rows = []
    for name, _, _ in table:
        mine = [r for r in runs if r["setting"] == name]
        regrets = np.array([r["regret"] for r in mine])
        rows.append({"setting": name, "n_seeds": len(mine), "T": T, "regret_mean": float(regrets.mean()),
                     "regret_sd": float(regrets.std(ddof=1)) if len(mine) > 1 else 0.0,
                     "cpu_seconds_per_step": float(np.mean([r["cpu_seconds_per_step"] for r in mine])),
                     "wall_seconds_per_step": float(np.mean([r["wall_seconds_per_step"] for r in mine])),
                     "gradient_steps_mean": float(np.mean([r["gradient_steps"] for r in mine]))})
    print(f"\n== pet shop (50 products), T = {T}: regret (mean +- sd), CPU ms per step")
    for row in rows:
        print(f"{row['setting']:42s} {row['regret_mean']:8.1f} +- {row['regret_sd']:5.1f} ({row['n_seeds']} seeds) "
              f"{1e3 * row['cpu_seconds_per_step']:8.2f} ms/step")
    return {"T": T, "settings": {name: setting for name, setting, _ in table}, "summary": rows, "runs": runs}


# ---------------------------------------------------------------------------- main
def machine() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "load_average": os.getloadavg()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke scale (T=300, 2 seeds, fewer settings)")
    parser.add_argument("--part", choices=("synthetic", "petshop", "all"), default="synthetic")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--T", type=int, default=3000)
    parser.add_argument("--torch-seeds", type=int, default=1,
                        help="full runs of the reference with its torch backend, per problem (timing)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--petshop-steps", type=int, default=5000)
    parser.add_argument("--petshop-seeds", type=int, default=6)
    parser.add_argument("--petshop-full-seeds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write results (default {DEFAULT_OUTPUT}; --quick writes nothing unless given)")
    args = parser.parse_args(argv)
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    from joblib import Parallel, delayed

    result: dict = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    if args.part in ("synthetic", "all"):
        T = 300 if args.quick else args.T
        seeds = list(range(args.first_seed, args.first_seed + (2 if args.quick else args.seeds)))
        table = settings(args.quick)
        jobs = []
        if args.quick:
            jobs += [(REFERENCE, table[REFERENCE], p, seeds[0], T, "torch") for p in PROBLEMS]
        else:
            jobs += [(REFERENCE, table[REFERENCE], p, s, T, "torch") for s in seeds[: args.torch_seeds]
                     for p in PROBLEMS]
        # The long runs first, so that the processes finish together.
        order = [EVERY_ROUND, "history H=3 J=100"] + [n for n in table if n not in (EVERY_ROUND, "history H=3 J=100")]
        jobs += [(name, table[name], p, s, T, "numba") for name in order if name in table for s in seeds
                 for p in PROBLEMS]
        begin = time.perf_counter()
        print(f"{len(jobs)} runs on {args.jobs} processes (T={T}, seeds {seeds})", flush=True)
        runs = Parallel(n_jobs=args.jobs, verbose=5)(delayed(run_one)(*job) for job in jobs)
        rows = summarise(runs, list(table))
        print_table(rows)
        curve = {problem: {H: next((r for r in rows if r["problem"] == problem and r["setting"] == name), None)
                           for H, name in H_CURVE.items()} for problem in PROBLEMS}
        print("\nregret vs H (J = 100 steps per training round, batch 64, SGD lr 0.3, code-style weight decay):")
        for problem in PROBLEMS:
            points = [(H, r) for H, r in curve[problem].items() if r is not None]
            print(f"  {problem:9s} " + "  ".join(f"H={H}: {r['regret_mean']:.1f}+-{r['regret_sd']:.1f} "
                                                  f"({1e3 * r['cpu_seconds_per_step']:.2f} ms)" for H, r in points))
        result["synthetic"] = {"T": T, "seeds": seeds, "settings": table, "summary": rows,
                               "runs": [{k: v for k, v in r.items()} for r in runs],
                               "wall_seconds": time.perf_counter() - begin}
    if args.part in ("petshop", "all"):
        result["petshop"] = petshop(args)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        name = "neuralucb_training" if args.part != "petshop" else "neuralucb_training_petshop"
        (output / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
        if "synthetic" in result:
            runs = result["synthetic"]["runs"]
            with open(output / "neuralucb_training_runs.csv", "w", newline="") as f:
                fields = [k for k in runs[0] if k != "regret_curve"]
                writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(runs)
            with open(output / "neuralucb_training_summary.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(result["synthetic"]["summary"][0]))
                writer.writeheader()
                writer.writerows(result["synthetic"]["summary"])
        if "petshop" in result:
            with open(output / "neuralucb_training_petshop.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(result["petshop"]["summary"][0]))
                writer.writeheader()
                writer.writerows(result["petshop"]["summary"])
        print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
