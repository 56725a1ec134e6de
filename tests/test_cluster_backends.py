"""The experiments on a real Dask cluster through joblib: same tables, and a killed worker's run is redone.

``run_comparison``, ``run_sweep`` and ``run_environment_comparison`` hand their independent
(agent, seed) runs to ``joblib.Parallel``; under ``joblib.parallel_config(backend="dask")`` the
same call sends them to the workers of a Dask cluster. Here a ``distributed.LocalCluster``
stands in for the real one: two worker *processes* (one thread each), each watched by a nanny
that starts a new process when its worker dies, and a scheduler in this process. The tests show

* a tiny sweep, a comparison (LinUCB, a NeuralUCB, the oracle; 3 seeds, 200 steps) and an
  environment comparison on the cluster give tables identical, value for value, to ``n_jobs=1``;
* a worker process that is SIGKILLed in the middle of a run (step 100 of 200) costs nothing:
  the Dask *scheduler* notices the worker is gone and runs its task again on a live worker (up to
  ``distributed.scheduler.allowed-failures`` deaths per task; set to 1 here, default 3). joblib
  never sees the failure; the table is the sequential one, one result per (agent, seed), and the
  nanny puts a fresh worker process in place of the dead one;
* past ``allowed-failures`` the scheduler gives up: the task errs with
  ``distributed.KilledWorker``, which ``client.submit(...).result()`` raises. joblib 1.6.0's Dask
  backend does *not* pass that error on: it calls joblib back only for tasks that succeeded, so
  ``Parallel`` waits forever unless it is given a ``timeout``: ``run_comparison(..., timeout=15)``
  then raises ``multiprocessing.TimeoutError`` (tested). Keep ``allowed-failures`` above the deaths you expect;
  a job that did exhaust it can be resubmitted (tested with ``client.submit``).

Scaling the same call to real machines (the paragraph of ``chapters/appendix_performance``)::

    # on every machine: the client's versions of Python, torch, numpy, pandas, joblib, cloudpickle,
    # dask and distributed (client.get_versions(check=True) compares them), and bandits_lib
    # installed (pip install -r requirements.txt, then pip install . or a wheel)
    #   scheduler host:  dask scheduler --port 8786
    #   each worker:     dask worker tcp://scheduler:8786 --nworkers 8 --nthreads 1
    import joblib
    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")
    with joblib.parallel_config(backend="dask"):
        df = run_comparison(agents, 40_000, seeds=range(50), n_jobs=-1)
    # Ray: from ray.util.joblib import register_ray; register_ray()
    #      ray.init(address="auto"); with joblib.parallel_config(backend="ray"): ...

One thread per worker process (``--nthreads 1``, as many processes as cores): a run sets
PyTorch's thread count, which is per process; Dask's nanny also starts workers with
``OMP_NUM_THREADS=1``. Agent factories (lambdas included) travel by cloudpickle; anything they
name by module (``bandits_lib``, or this test module) must be importable on the workers.

Timeouts: the client waits at most ``_START_TIMEOUT`` seconds for the scheduler, the workers and
the closing, and a watchdog (``faulthandler``) ends this process with every thread's traceback
if the cluster's start, its close or one test takes longer than ``_TEST_TIMEOUT`` seconds, so a
hang fails (under pytest-xdist the worker is reported as crashed) instead of blocking
``make test``.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
import pytest

from bandits_lib import (
    LinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    PetShopEnvironment,
    run_comparison,
    run_environment_comparison,
    run_sweep,
)
from bandits_lib.experiments import make_agent

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (it is pinned in requirements.txt; "
    "pip install -r requirements.txt)")
dask = pytest.importorskip("dask", reason="dask is not installed (pinned in requirements.txt)")

N_WORKERS = 2
ALLOWED_FAILURES = 1
_START_TIMEOUT = 60
_TEST_TIMEOUT = 300

HORIZON = 200
SEEDS = [0, 1, 2]
KILLED = ("NeuralUCB", 1)  # the run whose worker is killed ...
KILL_AT = 100  # ... after this many updates


def _neural(seed: int) -> NeuralUCBAgent:
    return NeuralUCBAgent(9, (8,), confidence="diagonal", jacobian="analytic", seed=seed)


AGENTS = {
    "LinUCB": lambda s: LinUCBAgent(50, 9, alpha=1.5, seed=s),
    "NeuralUCB": _neural,
    "Oracle": OracleAgent(9),
}


class Recorded:
    """An agent factory that leaves a trace of every attempt at a run, and can kill its worker.

    Each call (the start of one attempt at the run ``(name, seed)``) creates
    ``<directory>/<name>-<seed>-<pid>-<ns>.start``; the agent it returns creates the matching
    ``.finish`` after its ``horizon``-th update. For ``seed == kill_seed``, the first attempt
    anywhere (claimed by creating ``<directory>/killed`` exclusively, which every process sees)
    SIGKILLs its own process after ``kill_at`` updates: the worker dies in the middle of the run.
    The agent is otherwise the factory's, so the run's results are those of ``factory``.

    It never kills the process that made it (the test process): joblib runs a call in the
    caller's process when the cluster offers a single worker thread (for instance while the
    nanny restarts a killed worker), and that run then fails with an error instead.
    """

    def __init__(self, name: str, factory, directory: str, horizon: int,
                 kill_seed: int | None = None, kill_at: int = 0) -> None:
        self.name, self.factory, self.directory, self.horizon = name, factory, directory, horizon
        self.kill_seed, self.kill_at = kill_seed, kill_at
        self.home = os.getpid()

    def __call__(self, seed: int):
        tag = os.path.join(self.directory, f"{self.name}-{seed}-{os.getpid()}-{time.monotonic_ns()}")
        Path(tag + ".start").touch()
        agent = make_agent(self.factory, seed)
        die = seed == self.kill_seed and _claim(os.path.join(self.directory, "killed"))
        update, done = agent.update, [0]

        def update_and_record(arm, x, reward):
            update(arm, x, reward)
            done[0] += 1
            if die and done[0] == self.kill_at:
                if os.getpid() == self.home:
                    raise RuntimeError("the run meant to kill a cluster worker ran in the test process "
                                       "(joblib ran the call in-process: the cluster had one worker thread)")
                os.kill(os.getpid(), signal.SIGKILL)
            if done[0] == self.horizon:
                Path(tag + ".finish").touch()

        agent.update = update_and_record
        return agent


def _claim(path: str) -> bool:
    """Create ``path`` if nobody has; True for the one process that did (atomic on a local file system)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _attempts(directory: Path) -> dict[tuple[str, int], dict[str, list[int]]]:
    """Per (name, seed): the pids of the attempts that started and of those that finished."""
    out: dict[tuple[str, int], dict[str, list[int]]] = {}
    for path in directory.iterdir():
        if path.suffix in (".start", ".finish"):
            name, seed, pid, _ = path.stem.rsplit("-", 3)
            entry = out.setdefault((name, int(seed)), {".start": [], ".finish": []})
            entry[path.suffix].append(int(pid))
    return out


def _recorded(directory: Path, kill: tuple[str, int] | None) -> dict[str, Recorded]:
    return {name: Recorded(name, factory, str(directory), HORIZON,
                           kill_seed=kill[1] if kill and kill[0] == name else None, kill_at=KILL_AT)
            for name, factory in AGENTS.items()}


def _run_alone(name: str, factory, seed: int) -> pd.DataFrame:
    """One (agent, seed) run as its own job: what ``client.submit`` sends to a worker."""
    return run_comparison({name: factory}, HORIZON, seeds=[seed], n_jobs=1, progress=False)


# ---------------------------------------------------------------------- fixtures
@contextlib.contextmanager
def _watchdog(seconds: float):
    """Past ``seconds``, end this process with every thread's traceback: a hang fails, never blocks."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of ``N_WORKERS`` processes, one thread each, no dashboard; closed at the end."""
    with _watchdog(_TEST_TIMEOUT), dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                                                    "distributed.comm.timeouts.connect": "30s"}):
        cluster = distributed.LocalCluster(
            n_workers=N_WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR)
    dask_client = None
    try:
        with _watchdog(_TEST_TIMEOUT):
            dask_client = distributed.Client(cluster, timeout=_START_TIMEOUT)
            dask_client.wait_for_workers(N_WORKERS, timeout=_START_TIMEOUT)
        yield dask_client
    finally:
        with _watchdog(_TEST_TIMEOUT):
            if dask_client is not None:
                dask_client.close(timeout=_START_TIMEOUT)
            cluster.close(timeout=_START_TIMEOUT)


@pytest.fixture(autouse=True)
def _each_test_watched():
    with _watchdog(_TEST_TIMEOUT):
        yield


@pytest.fixture(scope="module")
def sequential() -> pd.DataFrame:
    return run_comparison(AGENTS, HORIZON, seeds=SEEDS, n_jobs=1, progress=False)


def _healthy(client) -> set[int]:
    """Wait until every worker is up and idle; their pids."""
    client.wait_for_workers(N_WORKERS, timeout=_START_TIMEOUT)
    deadline = time.monotonic() + _START_TIMEOUT
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return set(client.run(os.getpid).values())


# ---------------------------------------------------------------------- same tables
def test_comparison_on_the_cluster_equals_the_sequential_run(client, sequential):
    assert len(_healthy(client)) == N_WORKERS
    with joblib.parallel_config(backend="dask"):
        on_cluster = run_comparison(AGENTS, HORIZON, seeds=SEEDS, n_jobs=-1, progress=False)
    pd.testing.assert_frame_equal(on_cluster, sequential, check_exact=True)


def test_sweep_on_the_cluster_equals_the_sequential_sweep(client):
    grid = dict(agents=("LinUCB", "Neural-LinUCB hybrid"), alphas=(0.5, 1.5), lambdas=(1.0,), seeds=(0, 1),
                horizon=60, n_points=7)
    with joblib.parallel_config(backend="dask"):
        on_cluster = run_sweep(**grid, n_jobs=-1)
    alone = run_sweep(**grid, n_jobs=1)
    assert on_cluster.n_runs == alone.n_runs == 8
    pd.testing.assert_frame_equal(on_cluster.curves, alone.curves, check_exact=True)
    pd.testing.assert_frame_equal(on_cluster.final, alone.final, check_exact=True)


def test_environment_comparison_on_the_cluster_equals_the_sequential_run(client):
    def make_environment(seed):
        return PetShopEnvironment(120, seed=seed, n_products=20)

    agents = {"LinUCB": lambda s: LinUCBAgent(20, 9, seed=s), "NeuralUCB": _neural}
    with joblib.parallel_config(backend="dask"):
        on_cluster = run_environment_comparison(agents, make_environment, seeds=[0, 1], n_jobs=-1, progress=False)
    alone = run_environment_comparison(agents, make_environment, seeds=[0, 1], n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(on_cluster, alone, check_exact=True)


# ---------------------------------------------------------------------- a worker dies
def test_a_worker_killed_mid_run_is_replaced_and_its_run_redone(client, sequential, tmp_path):
    before = _healthy(client)
    with joblib.parallel_config(backend="dask"):
        on_cluster = run_comparison(_recorded(tmp_path, KILLED), HORIZON, seeds=SEEDS, n_jobs=-1, progress=False)

    # The table is the sequential one: nothing lost, nothing twice.
    pd.testing.assert_frame_equal(on_cluster, sequential, check_exact=True)
    sizes = on_cluster.groupby(["agent", "seed"], observed=True).size()
    assert sizes.to_dict() == {(name, seed): HORIZON for name in AGENTS for seed in SEEDS}

    attempts = _attempts(tmp_path)
    assert set(attempts) == {(name, seed) for name in AGENTS for seed in SEEDS}
    killed = attempts[KILLED]
    # Two attempts at the killed run: the first died on its worker (no finish), the second,
    # in another process, finished once.
    assert len(killed[".start"]) == 2 and len(killed[".finish"]) == 1
    (dead_pid,) = set(killed[".start"]) - set(killed[".finish"])
    assert dead_pid in before and killed[".finish"][0] != dead_pid
    # No other run was interrupted. A run that had finished inside a task that died with the
    # worker (joblib may batch runs into one task) is played again, so it may have finished twice;
    # the table above still holds it once.
    for pair, entry in attempts.items():
        if pair != KILLED:
            assert len(entry[".finish"]) == len(entry[".start"]) >= 1, (pair, entry)

    # The nanny replaced the dead worker process.
    after = _healthy(client)
    assert len(after) == N_WORKERS and dead_pid not in after


def test_past_allowed_failures_the_scheduler_gives_up_and_a_resubmission_succeeds(client, sequential, tmp_path):
    """The retry above is the scheduler's: with no failure allowed, the same death is an error."""
    before = _healthy(client)
    factory = _recorded(tmp_path, KILLED)[KILLED[0]]
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        doomed = client.submit(_run_alone, KILLED[0], factory, KILLED[1], pure=False)
        with pytest.raises(distributed.KilledWorker):
            doomed.result(timeout=_TEST_TIMEOUT / 2)
    finally:
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", ALLOWED_FAILURES))
    attempts = _attempts(tmp_path)[KILLED]
    assert len(attempts[".start"]) == 1 and attempts[".finish"] == [] and attempts[".start"][0] in before

    # Resubmitted (the kill is spent), the run completes and equals its part of the sequential table.
    again = client.submit(_run_alone, KILLED[0], factory, KILLED[1], pure=False).result(timeout=_TEST_TIMEOUT / 2)
    name, seed = KILLED
    expected = sequential[(sequential["agent"] == name) & (sequential["seed"] == seed)].reset_index(drop=True)
    expected["agent"] = expected["agent"].astype(str)
    again["agent"] = again["agent"].astype(str)
    pd.testing.assert_frame_equal(again, expected, check_exact=True)



def test_past_allowed_failures_a_timeout_turns_the_wait_into_an_error(client, tmp_path):
    """joblib's Dask backend does not pass KilledWorker on; ``timeout=`` makes the call raise instead of waiting."""
    _healthy(client)  # both workers up: with one, joblib would run the call in this process
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        with joblib.parallel_config(backend="dask"), pytest.raises(multiprocessing.TimeoutError):
            run_comparison(_recorded(tmp_path, KILLED), HORIZON, seeds=SEEDS, n_jobs=-1, progress=False, timeout=15)
    finally:
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", ALLOWED_FAILURES))
    _healthy(client)  # the nanny brought the killed worker back
