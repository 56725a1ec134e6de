#!/usr/bin/env python
"""Tuning of the showdown's agents (chapters/03_6_showdown) on held-out seeds.

Run on demand, from the repository root (it takes tens of minutes on two cores):

    PYTHONPATH=. nice -n 10 python benchmarks/tune_showdown.py            # full scale, writes the results
    PYTHONPATH=. nice -n 10 python benchmarks/tune_showdown.py --quick    # smoke check, writes nothing

What is tuned, on what. Every agent of the showdown plays the showdown's task -- the pet
shop (50 products) for ``--T`` steps, once stationary and once with the market shock at
``--shock`` (the two worlds share their first part, played once: ``play_fork``) -- on the
tuning seeds ``--seeds`` (default 100, 101, 102), which the chapter does not report. The
score of a setting is the mean over those seeds of the regret of the whole task: the
stationary run's regret over all ``T`` steps plus the shocked run's regret from the shock
on. The search is one pass of coordinate search per agent:

1. the exploration weight ``alpha`` over ``ALPHAS`` (a factor of about 3 apart, plus the
   1.5 of the chapter's source), at the agent's starting learning rate;
2. at the best ``alpha``, the learning rate (``LEARNING_RATES``; for the history-trained
   agent the SGD learning rate of its training rounds).

The chosen setting is the best of all settings tried. LinUCB has no learning rate; the
random agent nothing to tune.

Results (``benchmarks/results/``): ``showdown_tuning.csv`` (one row per setting: agent,
stage, alpha, learning rate, mean and sd of the score over seeds, its two parts, CPU
seconds per step, whether chosen), ``showdown_tuning_runs.csv`` (one row per run) and
``showdown_tuning.json`` (machine, date, arguments, grids, the chosen settings). Runs
already in ``showdown_tuning_runs.csv`` are not played again (``--fresh`` to start over).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from neuralucb_training import machine  # same folder: the training benchmark's machine record

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results"

N_PRODUCTS = 50
LAMBDA = 1.0
#: The exploration weights of stage 1 (1.5 is the value of the chapter's source).
ALPHAS = (0.01, 0.03, 0.1, 0.3, 1.0, 1.5, 3.0)
#: History training of the exact agent: the pet-shop setting of benchmarks/neuralucb_training.py.
HISTORY_OPTIONS = {"steps": 100, "train_every": 50, "batch_size": 64, "lr": 0.05, "regularization": 5e-4,
                   "anchor": "zero", "penalty": "per_sample", "optimizer": "sgd"}

#: name -> (constructor keywords without alpha/lr, starting learning rate, learning rates of stage 2)
CONTENDERS = {
    "LinUCB": ({}, None, ()),
    "NeuralUCB (exact, history)": ({"hidden_dims": (32, 16), "confidence": "full", "training": "history"},
                                   0.05, (0.02, 0.1)),
    "NeuralUCB (exact, online)": ({"hidden_dims": (32, 16), "confidence": "full"}, 1e-3, (1e-4, 1e-2)),
    "NeuralUCB (diagonal, online)": ({"hidden_dims": (128, 64), "confidence": "diagonal"}, 1e-3, (1e-4, 1e-2)),
    "Last-layer NeuralUCB (online)": ({"hidden_dims": (128, 64), "embedding_dim": 64}, 1e-4, (1e-3, 1e-2)),
    "Neural-LinUCB (online)": ({"hidden_dims": (128, 64), "embedding_dim": 32}, 1e-4, (1e-3, 1e-2)),
}


def make_contender(name: str, alpha: float, lr: float | None, seed: int):
    """The showdown's agent ``name`` with exploration weight ``alpha`` and learning rate ``lr``."""
    from bandits_lib import FEATURE_DIM, LastLayerNeuralUCBAgent, LinUCBAgent, NeuralLinUCBAgent, NeuralUCBAgent

    keywords, _, _ = CONTENDERS[name]
    if name == "LinUCB":
        return LinUCBAgent(N_PRODUCTS, FEATURE_DIM, alpha=alpha, lambda_=LAMBDA, seed=seed)
    if name.startswith("NeuralUCB"):
        if keywords.get("training") == "history":
            return NeuralUCBAgent(FEATURE_DIM, keywords["hidden_dims"], lambda_=LAMBDA, alpha=alpha,
                                  confidence="full", training="history",
                                  training_options={**HISTORY_OPTIONS, "lr": lr}, seed=seed)
        return NeuralUCBAgent(FEATURE_DIM, keywords["hidden_dims"], lambda_=LAMBDA, alpha=alpha, lr=lr,
                              confidence=keywords["confidence"], seed=seed)
    if name.startswith("Last-layer"):
        return LastLayerNeuralUCBAgent(FEATURE_DIM, keywords["hidden_dims"], embedding_dim=keywords["embedding_dim"],
                                       lambda_=LAMBDA, alpha=alpha, lr=lr, seed=seed)
    return NeuralLinUCBAgent(N_PRODUCTS, FEATURE_DIM, keywords["hidden_dims"], embedding_dim=keywords["embedding_dim"],
                             lambda_=LAMBDA, alpha=alpha, lr=lr, seed=seed)


def run_one(name: str, alpha: float, lr: float | None, seed: int, T: int, shock: int) -> dict:
    """One tuning run: the stationary and the shocked world, forked at the shock."""
    import torch

    from bandits_lib import PetShopEnvironment
    from bandits_lib.experiments import play_fork

    torch.set_num_threads(1)
    worlds = {"stationary": PetShopEnvironment(T, seed=seed, n_products=N_PRODUCTS),
              "shock": PetShopEnvironment(T, seed=seed, n_products=N_PRODUCTS, market_shock_at=shock)}
    agent = make_contender(name, alpha, lr, seed)
    cpu, wall = time.process_time(), time.perf_counter()
    out = play_fork(agent, worlds, shock)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    regret = {world: np.asarray(o["oracle_reward"]) - np.asarray(o["expected_reward"]) for world, o in out.items()}
    stationary = float(regret["stationary"].sum())
    after_shock = float(regret["shock"][shock:].sum())
    return {"agent": name, "alpha": alpha, "lr": "" if lr is None else lr, "seed": seed, "T": T, "shock": shock,
            "regret_stationary": stationary, "regret_after_shock": after_shock, "score": stationary + after_shock,
            "regret_early": float(regret["stationary"][: T // 6].sum()),
            "cpu_seconds_per_step": cpu / (T + T - shock), "wall_seconds_per_step": wall / (T + T - shock)}


def key(row: dict) -> tuple:
    lr = row["lr"]
    return (row["agent"], float(row["alpha"]), "" if lr in ("", None) else float(lr), int(row["seed"]),
            int(row["T"]), int(row["shock"]))


def summarise(runs: list[dict], stage_of: dict) -> list[dict]:
    """One row per (agent, alpha, lr): mean and sd over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        lr = run["lr"]
        groups.setdefault((run["agent"], float(run["alpha"]), "" if lr in ("", None) else float(lr)), []).append(run)
    rows = []
    for (agent, alpha, lr), members in groups.items():
        score = np.array([float(m["score"]) for m in members])
        rows.append({
            "agent": agent, "stage": stage_of.get((agent, alpha, lr), ""), "alpha": alpha, "lr": lr,
            "n_seeds": len(members), "score_mean": float(score.mean()),
            "score_sd": float(score.std(ddof=1)) if len(members) > 1 else 0.0,
            "regret_stationary_mean": float(np.mean([float(m["regret_stationary"]) for m in members])),
            "regret_after_shock_mean": float(np.mean([float(m["regret_after_shock"]) for m in members])),
            "regret_early_mean": float(np.mean([float(m["regret_early"]) for m in members])),
            "cpu_ms_per_step": 1e3 * float(np.mean([float(m["cpu_seconds_per_step"]) for m in members])),
            "chosen": False,
        })
    for agent in {r["agent"] for r in rows}:
        mine = [r for r in rows if r["agent"] == agent]
        min(mine, key=lambda r: r["score_mean"])["chosen"] = True
    order = list(CONTENDERS)
    rows.sort(key=lambda r: (order.index(r["agent"]), r["stage"], r["alpha"], r["lr"] if r["lr"] != "" else 0))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke scale (T=400, 2 seeds, 2 alphas)")
    parser.add_argument("--T", type=int, default=12_000)
    parser.add_argument("--shock", type=int, default=6_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--agents", nargs="+", default=list(CONTENDERS), choices=list(CONTENDERS))
    parser.add_argument("--fresh", action="store_true", help="ignore runs already recorded")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write results (default {DEFAULT_OUTPUT}; --quick writes nothing unless given)")
    args = parser.parse_args(argv)
    from joblib import Parallel, delayed

    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    T, shock = (400, 200) if args.quick else (args.T, args.shock)
    seeds = args.seeds[:2] if args.quick else args.seeds
    alphas = (0.1, 1.5) if args.quick else ALPHAS
    runs_path = None if output is None else output / "showdown_tuning_runs.csv"
    runs: list[dict] = []
    if runs_path is not None and runs_path.exists() and not args.fresh:
        with open(runs_path) as f:
            runs = [r for r in csv.DictReader(f) if int(r["T"]) == T and int(r["shock"]) == shock]
        print(f"{len(runs)} runs already recorded in {runs_path}")
    done = {key(r) for r in runs}
    stage_of: dict = {}
    begin = time.perf_counter()

    def play_all(settings: list[tuple[str, float, float | None]]) -> None:
        jobs = [(name, alpha, lr, seed, T, shock) for name, alpha, lr in settings for seed in seeds
                if key({"agent": name, "alpha": alpha, "lr": "" if lr is None else lr, "seed": seed, "T": T,
                        "shock": shock}) not in done]
        if not jobs:
            return
        print(f"  {len(jobs)} runs ({time.perf_counter() - begin:.0f} s so far)", flush=True)
        new = Parallel(n_jobs=args.jobs, verbose=0)(delayed(run_one)(*job) for job in jobs)
        runs.extend(new)
        done.update(key(r) for r in new)
        if runs_path is not None:
            output.mkdir(parents=True, exist_ok=True)
            with open(runs_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(new[0]))
                writer.writeheader()
                writer.writerows(runs)

    def mean_score(name: str, alpha: float, lr: float | None) -> float:
        mine = [float(r["score"]) for r in runs if key(r)[:3] == (name, float(alpha), "" if lr is None else float(lr))]
        return float(np.mean(mine))

    chosen = {}
    for name in args.agents:
        _, lr0, lrs = CONTENDERS[name]
        print(f"{name}: alpha in {alphas}", flush=True)
        stage1 = [(name, alpha, lr0) for alpha in alphas]
        play_all(stage1)
        for _, alpha, lr in stage1:
            stage_of[(name, float(alpha), "" if lr is None else float(lr))] = "1 alpha"
        best_alpha = min(alphas, key=lambda a: mean_score(name, a, lr0))
        stage2 = [(name, best_alpha, lr) for lr in (lrs[:1] if args.quick else lrs)]
        if stage2:
            print(f"{name}: alpha {best_alpha}, learning rate in {[lr for _, _, lr in stage2]}", flush=True)
            play_all(stage2)
            for _, alpha, lr in stage2:
                stage_of[(name, float(alpha), float(lr))] = "2 learning rate"
        tried = stage1 + stage2
        best = min(tried, key=lambda s: mean_score(*s))
        chosen[name] = {"alpha": best[1], "lr": best[2], "score_mean": mean_score(*best)}
        print(f"{name}: chosen alpha {best[1]}, lr {best[2]} (score {chosen[name]['score_mean']:.1f})", flush=True)

    ours = [r for r in runs if r["agent"] in args.agents]
    rows = summarise(ours, stage_of)
    print(f"\n== showdown tuning: T = {T}, shock at {shock}, seeds {seeds}; score = regret of the whole task")
    print(f"{'agent':32s} {'stage':16s} {'alpha':>6s} {'lr':>7s} {'score':>14s} {'ms/step':>8s}")
    for r in rows:
        lr = "" if r["lr"] == "" else f"{r['lr']:g}"
        print(f"{r['agent']:32s} {r['stage']:16s} {r['alpha']:6g} {lr:>7s} {r['score_mean']:7.1f} +- "
              f"{r['score_sd']:5.1f} {r['cpu_ms_per_step']:8.2f}{'  <- chosen' if r['chosen'] else ''}")
    if output is not None:
        with open(output / "showdown_tuning.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        info = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "T": T, "shock": shock,
                "seeds": seeds, "alphas": list(alphas), "history_options": HISTORY_OPTIONS,
                "contenders": {n: {"keywords": c[0], "start_lr": c[1], "stage2_lrs": list(c[2])}
                               for n, c in CONTENDERS.items()},
                "chosen": chosen, "wall_seconds": time.perf_counter() - begin}
        (output / "showdown_tuning.json").write_text(json.dumps(info, indent=1, default=str))
        print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
