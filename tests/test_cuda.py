"""Every agent on a CUDA device gives the CPU's decisions (skipped without a GPU).

The book's figures were measured on CPU only; these tests are what a reader with a GPU
runs to check the device paths (``device="cuda"`` everywhere a tensor is made).
"""

import pytest
import torch

from agent_cases import CASES
from bandits_lib import (
    FeatureBuilder,
    NeuralUCBAgent,
    OracleAgent,
    PetShopEnvironment,
    run_comparison,
)
from bandits_lib.confidence import FullConfidence

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name", list(CASES))
def test_agent_on_cuda_matches_cpu(name):
    cpu = CASES[name]()
    gpu = cpu.clone(device="cuda")
    environment = PetShopEnvironment(120, seed=0)
    rows_gpu = FeatureBuilder(environment.simulator.products, device="cuda").by_index
    assert rows_gpu.device.type == "cuda"
    for t in range(120):
        X, info = environment.context(t), environment.info(t)
        Xg = rows_gpu[info["persona"]]
        for a, b in zip(cpu.score(X, info), gpu.score(Xg, info)):
            torch.testing.assert_close(b.cpu().double(), a.cpu().double(), rtol=1e-3, atol=1e-4)
        arm = cpu.predict(X, info)
        gpu.predict(Xg, info)  # may differ on a near-tie; both learn from the CPU's arm
        reward = environment.reward(t, arm)
        cpu.update(arm, X[arm], reward)
        gpu.update(arm, Xg[arm], reward)


def test_deferred_confidence_on_cuda():
    torch.manual_seed(0)
    conf = FullConfidence(50, 1.0, device="cuda", flush_every=4)
    A = torch.eye(50, dtype=torch.float64)
    for _ in range(30):
        g = torch.randn(50, dtype=torch.float64)
        conf.update(g.cuda())
        A += torch.outer(g, g)
    torch.testing.assert_close(conf.inverse().cpu(), torch.linalg.inv(A), rtol=1e-9, atol=1e-11)


def test_run_comparison_with_cuda_agents():
    df = run_comparison({"gpu": lambda s: NeuralUCBAgent(9, (8,), confidence="diagonal", jacobian="analytic",
                                                         seed=s, device="cuda"),
                         "oracle": OracleAgent(9)}, 200, seeds=[0], n_jobs=1, progress=False)
    assert len(df) == 400 and (df["regret"] >= 0).all()
