"""Every agent on a CUDA device gives the CPU's decisions (skipped without a GPU).

The book's figures were measured on CPU only; these tests are what a reader with a GPU
runs to check the device paths (``device="cuda"`` everywhere a tensor is made).
"""

import pytest
import torch

from bandits_lib import (
    FeatureBuilder,
    FullConfidence,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    ZooplusSimulator,
    run_comparison,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _factories():
    return {
        "linucb": lambda device: LinUCBAgent(50, 9, alpha=1.5, device=device),
        "full": lambda device: NeuralUCBAgent(9, (16, 8), confidence="full", jacobian="analytic", seed=0,
                                              device=device),
        "full_vmap": lambda device: NeuralUCBAgent(9, (16, 8), confidence="full", jacobian="vmap", seed=0,
                                                   device=device),
        "diagonal": lambda device: NeuralUCBAgent(9, (16, 8), confidence="diagonal", jacobian="analytic", seed=0,
                                                  device=device),
        "last_layer": lambda device: LastLayerNeuralUCBAgent(9, (16, 8), embedding_dim=6, seed=0, device=device),
        "hybrid": lambda device: NeuralLinUCBAgent(50, 9, (16, 8), embedding_dim=6, seed=0, device=device),
        "random": lambda device: RandomAgent(seed=0, device=device),
    }


@pytest.mark.parametrize("name", list(_factories()))
def test_agent_on_cuda_matches_cpu(name):
    make = _factories()[name]
    cpu, gpu = make("cpu"), make("cuda")
    sim = ZooplusSimulator(seed=0)
    rows_cpu = FeatureBuilder(sim.products).by_index
    rows_gpu = FeatureBuilder(sim.products, device="cuda").by_index
    assert rows_gpu.device.type == "cuda"
    stream, ctr = sim.draw_stream(120), sim.ctr_matrix()
    for t in range(120):
        persona = int(stream.personas[t])
        X, Xg = rows_cpu[persona], rows_gpu[persona]
        if hasattr(cpu, "ucb_components"):
            for a, b in zip(cpu.ucb_components(X), gpu.ucb_components(Xg)):
                assert b.device.type == "cuda"
                torch.testing.assert_close(b.cpu().double(), a.double(), rtol=1e-3, atol=1e-4)
        arm = cpu.predict(X)
        gpu.predict(Xg)  # may differ on a near-tie; both learn from the CPU's arm
        reward = float(stream.uniforms[t] < ctr[persona, arm])
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
                         "oracle": OracleAgent}, 200, seeds=[0], n_jobs=1, progress=False)
    assert len(df) == 400 and (df["regret"] >= 0).all()
