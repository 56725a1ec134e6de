#!/usr/bin/env python
"""Speed and memory of every bandits_lib agent, side by side with the draft-style references.

Run on demand (never a timed test):

    python benchmarks/run_benchmarks.py           # full run, ~20 min on 2 cores; writes benchmarks/results/
    python benchmarks/run_benchmarks.py --quick   # smoke check, ~1-2 min; writes nothing unless --output

What it measures, all in the same run so every speed-up is a ratio of two numbers taken
on the same machine under the same conditions:

* per step (``predict`` + ``update``) on the pet shop with K = 50, 500 and 5,000 products,
  for LinUCB, NeuralUCB (full A^{-1}), NeuralUCB (diagonal), last-layer NeuralUCB and the
  Neural-LinUCB hybrid, and for their straightforward references in
  ``bandits_lib.reference`` (``torch.inverse`` at every step, one backward pass per arm,
  per-arm ``numpy.linalg.solve`` and ``inv``): steps per second with one thread and with
  every core, and peak memory;
* end to end on the 50-product shop: the library's runner (``play``) against the draft's
  main loop (``reference.draft_loop``: pandas features rebuilt at every step);
* the hardware floor of the full-matrix agent: the time to stream A^{-1} (p = 9,601,
  float64, 737 MB) once, and how many such passes one step costs, for several numbers of
  deferred Sherman--Morrison corrections (with numba installed, a step reads only the rows
  of A^{-1} on the gradients' nonzero coordinates: bandits_lib/_kernels.py);
* growth of the per-step cost with the number of parameters p.

Method. Every case runs in a fresh Python process (``--worker``): build the shop, warm
the libraries up (a small matrix product, inverse and Adam step), reset the peak-memory
mark (``/proc/self/clear_refs``), build the agent, warm it up, then time ``repeats``
blocks of ``n`` steps (``n`` calibrated to about ``block_seconds``) and keep the fastest
block. One-thread figures use the process's CPU time (``time.process_time``): on a
shared machine that is the time an idle core would take, and it keeps the ratios
stable when other jobs come and go; the wall-clock time is recorded next to it. The
every-core figure is wall-clock (CPU time would add the threads up), and so is
sensitive to other load: the load average is recorded. Peak memory is the process's
high-water mark (VmHWM) after the one-thread timing minus its resident size just before
the agent was built: what the agent and its steps added. Tensor operations per step
are counted with ``torch.profiler`` (top-level calls). Steps follow one seeded stream
of users and click uniforms; the click is ``u < true CTR`` of the arm played.

The results go to ``benchmarks/results/benchmarks.json`` (everything, with the machine:
CPU model name with the family, model and stepping from /proc/cpuinfo, cores, torch and numpy
versions, BLAS, date, load average) and
``benchmarks/results/benchmarks.csv`` (one row per timed case);
``chapters/appendix_performance.ipynb`` reads the JSON.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results"

AGENTS = ("linucb", "full", "diagonal", "last_layer", "hybrid")
LABELS = {
    "linucb": "LinUCB",
    "full": "NeuralUCB (full A^-1)",
    "diagonal": "NeuralUCB (diagonal)",
    "last_layer": "Last-layer NeuralUCB",
    "hybrid": "Neural-LinUCB hybrid",
}
REFERENCE_LABELS = {
    "linucb": "per-arm solve + inv in a loop",
    "full": "torch.inverse(A) every step, one backward per arm",
    "diagonal": "full A kept, diagonal read, one backward per arm",
    "last_layer": "torch.inverse of the e x e matrix every step",
    "hybrid": "per-arm solve + inv in a loop",
}
ALPHA = 1.0
DRAFT_HIDDEN = (128, 64)
#: Length of the pet-shop stream the end-to-end loop plays (cyclically).
LOOP_HORIZON = 200_000


# ============================================================================ the worker (one case)
def _memory_marks() -> tuple[str, float]:
    """Reset the peak-RSS mark; return the method and the current resident size in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "VmHWM after reset (Linux clear_refs)", _proc_status_mb("VmRSS")
    except OSError:
        return "ru_maxrss difference", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _proc_status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024 / 1e6  # kB (KiB) -> MB (10^6 bytes)
    raise KeyError(key)


def _peak_mb(method: str) -> float:
    if method.startswith("VmHWM"):
        return _proc_status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _warm_libraries(torch) -> None:
    a = torch.randn(64, 64, dtype=torch.float64)
    torch.inverse(a @ a.T + torch.eye(64, dtype=torch.float64))
    w = torch.nn.Parameter(torch.randn(8))
    for fused in (True, False):
        opt = torch.optim.Adam([w], lr=1e-3, fused=fused)
        w.grad = torch.ones(8)
        opt.step()
    import numpy as np
    np.linalg.inv(np.eye(9) + 1.0)


def _build_agent(spec: dict, torch):
    import bandits_lib as bl
    from bandits_lib import reference as ref
    from bandits_lib.confidence import FullConfidence

    kind, impl, K, hidden = spec["agent"], spec["implementation"], spec["n_arms"], tuple(spec["hidden"])
    device = spec.get("device", "cpu")
    if impl == "library":
        if kind == "linucb":
            return bl.LinUCBAgent(K, 9, alpha=ALPHA, device=device)
        if kind in ("full", "diagonal"):
            agent = bl.NeuralUCBAgent(9, hidden, alpha=ALPHA, confidence=kind, jacobian="analytic", seed=0,
                                      device=device)
            if kind == "full" and spec.get("flush_every") is not None:
                agent.confidence_matrix = FullConfidence(agent.p, agent.lambda_, device=agent.device,
                                                     dtype=spec.get("dtype", torch.float64),
                                                     flush_every=spec["flush_every"])
            return agent
        if kind == "last_layer":
            return bl.LastLayerNeuralUCBAgent(9, hidden, alpha=ALPHA, seed=0, device=device)
        if kind == "hybrid":
            return bl.NeuralLinUCBAgent(K, 9, hidden, alpha=ALPHA, seed=0, device=device)
    if impl == "reference":
        if kind == "linucb":
            return ref.ReferenceLinUCBAgent(K, 9, alpha=ALPHA)
        if kind in ("full", "diagonal"):
            return ref.ReferenceNeuralUCBAgent(9, hidden, alpha=ALPHA, confidence=kind, jacobian="loop", seed=0)
        if kind == "last_layer":
            return ref.ReferenceLastLayerNeuralUCBAgent(9, hidden, alpha=ALPHA, seed=0)
        if kind == "hybrid":
            return ref.ReferenceNeuralLinUCBAgent(K, 9, hidden, alpha=ALPHA, seed=0)
    raise ValueError(f"unknown case {spec}")


def _time_blocks(run, first_step: int, spec: dict, clock: str = "cpu") -> tuple[dict, int]:
    """Warm up, calibrate a block size, time blocks; return figures and the next step index.

    ``clock="cpu"``: the headline figure uses the process's CPU time (one thread, CPU
    device), which on a shared, busy machine is the time an idle core would take; the
    wall-clock figure is kept alongside. ``clock="wall"``: the headline is wall-clock
    (several threads, or a GPU whose work the CPU clock does not see).
    """
    target = spec["block_seconds"]
    t = first_step
    # Warm-up: at least `min_warmup` steps and `warmup_seconds` (unless a step is very slow),
    # in calls of `warmup_chunk` steps (a whole loop has a set-up cost per call).
    chunk = spec.get("warmup_chunk", 1)
    begin, n_warm = time.perf_counter(), 0
    while n_warm < spec["min_warmup"] or (time.perf_counter() - begin < spec["warmup_seconds"]
                                          and n_warm < spec["max_block"]):
        run(t, chunk)
        t += chunk
        n_warm += chunk
    per_step = (time.perf_counter() - begin) / n_warm if n_warm else float("inf")
    n = int(max(spec.get("min_block", 1), min(spec["max_block"], round(target / per_step))))
    multiple = spec.get("block_multiple") or 1  # e.g. m deferred corrections: one fold per m steps
    n = -(-n // multiple) * multiple
    block = per_step * n
    repeats = spec["repeats"] if block < 2 else (2 if block < 10 else 1)
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        run(t, n)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        t += n
    best = min(cpus) if clock == "cpu" else min(walls)
    return {
        "clock": clock,
        "seconds_per_step": best / n,
        "steps_per_second": n / best,
        "cpu_seconds_per_step": min(cpus) / n,
        "wall_seconds_per_step": min(walls) / n,
        "median_wall_seconds_per_step": sorted(walls)[len(walls) // 2] / n,
        "steps_per_block": n,
        "repeats": repeats,
        "warmup_steps": n_warm,
    }, t


def _count_ops(run, first_step: int, n: int = 10) -> float:
    """Tensor operations (top-level aten calls) per step, counted by torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run(first_step, n)
    return sum(1 for event in prof.events() if event.cpu_parent is None) / n


def worker(spec: dict) -> dict:
    """Time one (agent, implementation, K) case; see the module docstring."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from bandits_lib import FeatureBuilder, ZooplusSimulator

    K = spec["n_arms"]
    simulator = ZooplusSimulator(n_products=K, seed=0)
    device = spec.get("device", "cpu") if spec["implementation"] == "library" else "cpu"
    features = FeatureBuilder(simulator.products, device=device)
    rows = [features.by_index[i] for i in range(features.by_index.shape[0])]
    stream = simulator.draw_stream(spec["stream_length"])
    personas, uniforms = stream.personas.tolist(), stream.uniforms.tolist()
    ctr = simulator.ctr_matrix().tolist()
    _warm_libraries(torch)

    method, baseline = _memory_marks()
    agent = _build_agent(spec, torch)
    n_total = len(personas)

    def run(start: int, n: int) -> None:
        for t in range(start, start + n):
            persona = personas[t % n_total]
            X = rows[persona]
            arm = agent.predict(X)
            agent.update(arm, X[arm], 1.0 if uniforms[t % n_total] < ctr[persona][arm] else 0.0)

    result = dict(spec)
    one, t = _time_blocks(run, 0, spec, "cpu" if device == "cpu" else "wall")
    result["peak_memory_mb"] = max(0.0, _peak_mb(method) - baseline)
    result["memory_method"] = method
    result["threads"] = {"1": one}
    if one["seconds_per_step"] < 0.05:
        result["tensor_ops_per_step"] = _count_ops(run, t)
        t += 10
    if spec.get("multi_threads"):
        torch.set_num_threads(spec["multi_threads"])
        many, t = _time_blocks(run, t, {**spec, "min_warmup": min(spec["min_warmup"], 2)}, "wall")
        result["threads"][str(spec["multi_threads"])] = many
    if hasattr(agent, "p"):
        result["p"] = int(agent.p)
    elif hasattr(agent, "model"):
        result["p"] = int(sum(q.numel() for q in agent.model.parameters()))
    result["load_average_after"] = os.getloadavg()[0]
    del np
    return result


def loop_worker(spec: dict) -> dict:
    """End to end: the library's runner against the draft's main loop, one thread."""
    import torch

    torch.set_num_threads(1)
    from bandits_lib import PetShopEnvironment, ZooplusSimulator
    from bandits_lib.experiments import play
    from bandits_lib.reference import draft_loop

    _warm_libraries(torch)
    agent = _build_agent({**spec, "n_arms": 50}, torch)
    simulator = ZooplusSimulator(n_products=50, seed=0)

    if spec["implementation"] == "library":
        shop = PetShopEnvironment(LOOP_HORIZON, seed=0)  # played in order, from the start again at its end

        def run(start: int, n: int) -> None:
            while n > 0:
                first = start % LOOP_HORIZON
                chunk = min(n, LOOP_HORIZON - first)
                play(agent, shop, first, first + chunk)
                start, n = start + chunk, n - chunk
    else:
        def run(start: int, n: int) -> None:
            draft_loop(agent, simulator, n)

    figures, _ = _time_blocks(run, 0, spec)
    return {**spec, "threads": {"1": figures}}


def bandwidth_worker(spec: dict) -> dict:
    """Streaming a p x p float64 matrix: the floor under one step of full NeuralUCB."""
    import torch

    from bandits_lib.confidence import DEFAULT_FLUSH_EVERY

    p, k, threads = spec["p"], spec["k"], spec["thread_counts"]
    B = torch.eye(p, dtype=torch.float64)
    B.add_(1e-9)
    v = torch.randn(p, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    G = torch.randn(k, p, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    W = torch.randn(DEFAULT_FLUSH_EVERY, p, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def best(f, repeats: int) -> float:
        f()
        times = []
        for _ in range(repeats):
            w0 = clock()
            f()
            times.append(clock() - w0)
        return min(times)

    out = {"p": p, "k": k, "matrix_mb": p * p * 8 / 1e6, "threads": {}}
    for n in threads:
        torch.set_num_threads(n)
        clock = time.process_time if n == 1 else time.perf_counter  # as the per-step figures
        r = spec["repeats"]
        read_mv = best(lambda: torch.mv(B, v), r)
        read_sum = best(lambda: B.sum(), r)
        out["threads"][str(n)] = {
            "read_pass_seconds": min(read_mv, read_sum),
            "read_pass_mv_seconds": read_mv,
            "read_pass_sum_seconds": read_sum,
            "read_write_pass_seconds": best(lambda: B.addr_(v, v, alpha=-1e-30), r),
            "solve_k_columns_seconds": best(lambda: torch.mm(B, G.T), r),
            "fold_rank_m_seconds": best(lambda: B.addmm_(W.T, W, alpha=-1e-30), r),
            "fold_rank": DEFAULT_FLUSH_EVERY,
        }
        out["threads"][str(n)]["read_bandwidth_gb_s"] = p * p * 8 / out["threads"][str(n)]["read_pass_seconds"] / 1e9
        out["threads"][str(n)]["clock"] = "cpu" if n == 1 else "wall"
    return out


# ============================================================================ the driver
def _numba_version() -> str | None:
    try:
        import numba
    except ImportError:
        return None
    return numba.__version__


#: Fields of the first processor in /proc/cpuinfo that identify it (a virtual machine's
#: "model name" can be as terse as "AMD EPYC"; family, model and stepping still name the part).
CPUINFO_FIELDS = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "stepping": "stepping",
                  "cache size": "cache_size", "cpu MHz": "mhz"}


def cpu_identification() -> dict:
    """Vendor, family, model, stepping, cache size and clock of the first processor in /proc/cpuinfo.

    Also ``hypervisor`` (the ``hypervisor`` flag: a virtual machine) and ``avx512`` (AVX-512
    foundation present). Empty where /proc/cpuinfo is missing (not Linux).
    """
    found: dict = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # end of the first processor's block
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key in CPUINFO_FIELDS:
                    found[CPUINFO_FIELDS[key]] = value
                elif key == "flags":
                    flags = value.split()
                    found["hypervisor"] = "hypervisor" in flags
                    found["avx512"] = "avx512f" in flags
    except OSError:
        return {}
    return found


def machine_description() -> dict:
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = next((line.strip(" -") for line in torch.__config__.show().splitlines()
                 if "Math Kernel" in line or "OpenBLAS" in line or "BLAS_INFO" in line), "unknown")
    memory_gb = None
    try:
        with open("/proc/meminfo") as f:
            memory_gb = int(f.readline().split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_identification": cpu_identification(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": _numba_version(),
        "blas": blas[:120],
        "cuda_available": torch.cuda.is_available(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": os.getloadavg()[0],
    }


def _spawn(mode: str, spec: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), f"--{mode}", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark case {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else (f"{x:,.1f}" if x >= 1 else f"{x:.3f}")


def run_all(quick: bool, device: str, multi_threads: int) -> dict:
    ks = (50,) if quick else (50, 500, 5000)
    hidden = (32, 16) if quick else DRAFT_HIDDEN
    timing = dict(block_seconds=0.15 if quick else 0.4, warmup_seconds=0.1 if quick else 0.3, min_warmup=3,
                  max_block=2000, repeats=3 if quick else 5, stream_length=40_000)
    results: dict = {"machine": machine_description(),
                     "settings": {"quick": quick, "device": device, "multi_threads": multi_threads,
                                  "alpha": ALPHA, "hidden_dims": list(hidden), **timing}}
    print(f"bandits_lib benchmarks on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
          f"torch {results['machine']['torch']}, {results['machine']['date']}"
          f"{'  [quick]' if quick else ''}")
    print(f"load average at start: {results['machine']['load_average_at_start']:.2f}\n")

    # ---- per step, K = 50 / 500 / 5000, library and reference
    per_step = []
    print("Per step (predict + update), steps per second: 1 thread | "
          f"{multi_threads} threads | peak memory")
    for K in ks:
        for agent in AGENTS:
            for impl in ("library", "reference"):
                spec = {"mode": "per_step", "agent": agent, "implementation": impl, "n_arms": K,
                        "hidden": list(hidden), "device": device if impl == "library" else "cpu", **timing}
                slow_reference = impl == "reference" and agent == "full" and not quick
                if slow_reference:  # one step takes about a minute: one step, no warm-up
                    spec.update(min_warmup=0, warmup_seconds=0.0, block_seconds=0.0, repeats=1)
                spec["multi_threads"] = multi_threads if (multi_threads > 1 and (not slow_reference or K == ks[0])) \
                    else None
                if impl == "library" and agent == "full":
                    spec["block_multiple"] = _default_flush_every(hidden)  # every block holds one fold
                r = _spawn("worker", spec)
                per_step.append(r)
                th = r["threads"]
                many = th.get(str(multi_threads))
                print(f"  K={K:>5} {LABELS[agent]:<24} {impl:<9} "
                      f"{_fmt_rate(th['1']['steps_per_second']):>10} | "
                      f"{_fmt_rate(many['steps_per_second']) if many else '-':>10} | "
                      f"{r['peak_memory_mb']:8.1f} MB", flush=True)
    results["per_step"] = per_step

    # ---- end to end on the 50-product shop: runner vs draft loop
    print("\nEnd to end, 50 products, 1 thread: library runner (play) vs the draft's loop (draft_loop)")
    end_to_end = []
    for agent in ("linucb", "diagonal", "last_layer", "hybrid"):
        for impl in ("library", "reference"):
            spec = {"mode": "loop", "agent": agent, "implementation": impl, "hidden": list(hidden),
                    **timing, "max_block": 2000, "warmup_chunk": 20, "min_block": 200}
            r = _spawn("loop", spec)
            end_to_end.append(r)
            print(f"  {LABELS[agent]:<24} {impl:<9} {_fmt_rate(r['threads']['1']['steps_per_second']):>10} steps/s",
                  flush=True)
    results["end_to_end"] = end_to_end

    # ---- the memory-bandwidth floor and the deferred corrections
    p_big = 2753 if quick else 9601
    thread_counts = [1] + ([multi_threads] if multi_threads > 1 else [])
    bandwidth = _spawn("bandwidth", {"p": p_big, "k": 5, "thread_counts": thread_counts, "repeats": 3 if quick else 5})
    results["bandwidth"] = bandwidth
    floor = bandwidth["threads"]["1"]
    print(f"\nStreaming A^-1 once (p = {p_big:,}, float64, {bandwidth['matrix_mb']:.0f} MB), 1 thread: "
          f"read {floor['read_pass_seconds'] * 1e3:.1f} ms ({floor['read_bandwidth_gb_s']:.1f} GB/s), "
          f"read+write {floor['read_write_pass_seconds'] * 1e3:.1f} ms, "
          f"B @ G^T with 5 columns {floor['solve_k_columns_seconds'] * 1e3:.1f} ms, "
          f"rank-{floor['fold_rank']} fold {floor['fold_rank_m_seconds'] * 1e3:.1f} ms")

    flush_sweep = []
    hidden_big = (64, 32) if quick else DRAFT_HIDDEN
    print(f"Full NeuralUCB (p = {p_big:,}), 1 thread, by number m of deferred corrections (m = 1: immediate):")
    for m in ((1, 8) if quick else (1, 8, 32, 64)):
        spec = {"mode": "per_step", "agent": "full", "implementation": "library", "n_arms": 50,
                "hidden": list(hidden_big), "flush_every": m, "multi_threads": None, "device": device, **timing}
        # Blocks of m steps (one fold each), after a warm-up that has folded at least once.
        spec.update(min_warmup=max(2, m), warmup_seconds=0.0, block_seconds=1.0 if not quick else 0.3,
                    block_multiple=m, repeats=3)
        r = _spawn("worker", spec)
        seconds = r["threads"]["1"]["seconds_per_step"]
        r["passes_per_step"] = seconds / floor["read_pass_seconds"]
        flush_sweep.append(r)
        print(f"  m = {m:>3}: {seconds * 1e3:8.1f} ms per step = {r['passes_per_step']:.2f} read passes", flush=True)
    results["flush_sweep"] = flush_sweep

    # ---- growth with p
    growth = []
    dims = [(16, 8), (32, 16)] if quick else [(16, 8), (32, 16), (64, 32), (128, 64)]
    print("\nGrowth with the number of parameters p (K = 50, 1 thread), seconds per step:")
    for h in dims:
        row = {"hidden": list(h)}
        for label, agent, impl in (("full", "full", "library"), ("diagonal", "diagonal", "library"),
                                   ("full_reference", "full", "reference")):
            if impl == "reference" and h == DRAFT_HIDDEN:
                continue  # measured in the per-step table (about a minute per step)
            spec = {"mode": "per_step", "agent": agent, "implementation": impl, "n_arms": 50, "hidden": list(h),
                    "multi_threads": None, "device": device if impl == "library" else "cpu", **timing}
            r = _spawn("worker", spec)
            row["p"] = r["p"]
            row[label] = r["threads"]["1"]["seconds_per_step"]
            row[label + "_memory_mb"] = r["peak_memory_mb"]
        bw = _spawn("bandwidth", {"p": row["p"], "k": 5, "thread_counts": [1], "repeats": 3})
        row["read_pass_seconds"] = bw["threads"]["1"]["read_pass_seconds"]
        growth.append(row)
        print(f"  p = {row['p']:>6,}: full {row['full'] * 1e3:8.2f} ms, diagonal {row['diagonal'] * 1e3:6.2f} ms, "
              f"reference full {row['full_reference'] * 1e3 if 'full_reference' in row else float('nan'):10.1f} ms, "
              f"read pass {row['read_pass_seconds'] * 1e3:7.2f} ms", flush=True)
    results["growth_p"] = growth

    results["targets"] = evaluate_targets(results)
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    print("\nTargets (ratios measured side by side in this run, one thread unless stated):")
    for target in results["targets"]:
        status = "met" if target["met"] else "MISSED"
        print(f"  {target['name']:<58} {target['value']:>9.2f} (target {target['comparison']} "
              f"{target['target']:g}) {status}")
    return results


def _default_flush_every(hidden: tuple[int, ...]) -> int:
    from bandits_lib.confidence import FullConfidence
    from bandits_lib.networks import NeuralBanditNetwork, count_parameters

    return FullConfidence(count_parameters(NeuralBanditNetwork(9, hidden)), 1.0, device="meta").flush_every


def _find(rows: list, **match) -> dict:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    raise KeyError(match)


def _sps(row: dict, threads: str = "1") -> float:
    return row["threads"][threads]["steps_per_second"]


def evaluate_targets(results: dict) -> list[dict]:
    per_step, loops = results["per_step"], results["end_to_end"]
    k_small = min(r["n_arms"] for r in per_step)
    k_linucb = 500 if any(r["n_arms"] == 500 for r in per_step) else k_small

    def ratio(agent: str, K: int) -> float:
        return (_sps(_find(per_step, agent=agent, implementation="library", n_arms=K))
                / _sps(_find(per_step, agent=agent, implementation="reference", n_arms=K)))

    sweep = results["flush_sweep"]
    default = next((r for r in sweep if r["flush_every"] == 32), sweep[-1])
    last_loop = (_sps(_find(loops, agent="last_layer", implementation="library"))
                 / _sps(_find(loops, agent="last_layer", implementation="reference")))
    targets = [
        ("full NeuralUCB vs per-step torch.inverse, per step (K=%d)" % k_small, ratio("full", k_small), ">=", 500),
        ("full NeuralUCB read passes over A^-1 per step (m=%d)" % default["flush_every"],
         default["passes_per_step"], "<=", 2),
        ("last-layer: runner vs draft loop, end to end", last_loop, ">=", 5),
        ("NeuralUCB diagonal vs straightforward, per step (K=%d)" % k_small, ratio("diagonal", k_small), ">=", 5),
        ("hybrid vs per-arm solve+inv loop, per step (K=%d)" % k_small, ratio("hybrid", k_small), ">=", 5),
        ("LinUCB vs per-arm solve+inv loop, per step (K=%d)" % k_linucb, ratio("linucb", k_linucb), ">=", 20),
    ]
    return [{"name": name, "value": value, "comparison": cmp, "target": target,
             "met": bool(value >= target if cmp == ">=" else value <= target)}
            for name, value, cmp, target in targets]


def write(results: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "benchmarks.json").write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    rows = []
    for section in ("per_step", "end_to_end"):
        for r in results[section]:
            for threads, figures in r["threads"].items():
                rows.append({"section": section, "agent": r["agent"], "implementation": r["implementation"],
                             "n_arms": r.get("n_arms", 50), "p": r.get("p", ""), "threads": threads,
                             "steps_per_second": figures["steps_per_second"],
                             "seconds_per_step": figures["seconds_per_step"],
                             "cpu_seconds_per_step": figures["cpu_seconds_per_step"],
                             "peak_memory_mb": r.get("peak_memory_mb", "") if threads == "1" else ""})
    with open(output / "benchmarks.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\nwrote {output / 'benchmarks.json'} and {output / 'benchmarks.csv'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke check: small networks, K = 50 and 500")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write results (default: {DEFAULT_OUTPUT}; --quick writes nothing by default)")
    parser.add_argument("--device", default="cpu", help="device of the library agents (references run on CPU)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="thread count of the multi-threaded figure (default: every core)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--loop", help=argparse.SUPPRESS)
    parser.add_argument("--bandwidth", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for mode, function in (("worker", worker), ("loop", loop_worker), ("bandwidth", bandwidth_worker)):
        if getattr(args, mode):
            print(json.dumps(function(json.loads(getattr(args, mode)))))
            return
    started = time.perf_counter()
    results = run_all(args.quick, args.device, args.threads)
    results["settings"]["total_seconds"] = time.perf_counter() - started
    print(f"\ntotal time {results['settings']['total_seconds']:.0f} s")
    output = args.output if args.output is not None else (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        write(results, output)


if __name__ == "__main__":
    main()
