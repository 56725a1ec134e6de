"""run_comparison on a cluster engine through joblib's backends (skipped where not installed).

joblib runs the independent (agent, seed) jobs of ``run_comparison``; under
``joblib.parallel_config(backend="dask")`` the same call sends them to a Dask cluster.
Here a local Dask cluster stands in for a real one; the results must be identical to a
sequential run (every job is seeded and single-threaded).
"""

import joblib
import pandas as pd
import pytest

from bandits_lib import LinUCBAgent, NeuralUCBAgent, OracleAgent, run_comparison

AGENTS = {
    "LinUCB": lambda s: LinUCBAgent(50, 9, alpha=1.5, seed=s),
    "NeuralUCB": lambda s: NeuralUCBAgent(9, (8,), confidence="diagonal", jacobian="analytic", seed=s),
    "Oracle": OracleAgent(9),
}


def test_dask_backend_gives_the_sequential_results():
    distributed = pytest.importorskip("distributed")
    # One thread per worker process: each job sets torch's (process-wide) thread count.
    with distributed.Client(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None):
        with joblib.parallel_config(backend="dask"):
            on_cluster = run_comparison(AGENTS, 200, seeds=[0, 1], n_jobs=-1, progress=False)
    sequential = run_comparison(AGENTS, 200, seeds=[0, 1], n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(on_cluster, sequential)
