"""Long runs: the kept inverses stay symmetric, positive definite and equal to an explicit inverse.

The long tests drive the confidence objects directly, with the data real agents produce:
LinUCB's ridge with the shop's feature rows (100,000 updates), the full NeuralUCB
matrix with the gradients a small NeuralUCB agent computes in the shop (100,000
updates, p = 177). Tolerances are stated next to each assertion; the appendix
(chapters/appendix_reliability) reports the measured figures, float32 against float64.
"""

import numpy as np
import pytest
import torch

from bandits_lib import FeatureBuilder, NeuralUCBAgent, PetShopEnvironment, ZooplusSimulator
from bandits_lib.confidence import DisjointRidge, FullConfidence, confidence_width
from bandits_lib.envs.simulator import click_from_uniform
from bandits_lib.experiments import play
from bandits_lib.exploration import ucb_bonus

LONG = 100_000


def relative_error(approx: torch.Tensor, exact: torch.Tensor) -> float:
    return float((approx.double() - exact).norm() / exact.norm())


def assert_symmetric_positive_definite(M: torch.Tensor, asymmetry: float) -> None:
    M = M.double()
    assert float((M - M.transpose(-1, -2)).abs().max() / M.abs().max()) <= asymmetry
    assert float(torch.linalg.eigvalsh((M + M.transpose(-1, -2)) / 2).min()) > 0


@pytest.fixture(scope="module")
def shop_log():
    """100,000 steps of the shop: visiting personas, arms of a near-converged policy, clicks."""
    sim = ZooplusSimulator(seed=0)
    stream = sim.draw_stream(LONG)
    ctr = sim.ctr_matrix()
    rng = np.random.default_rng(0)
    # the best arm for the persona 90% of the time, a uniform arm otherwise (as LinUCB late in a run)
    arms = np.where(rng.random(LONG) < 0.9, ctr.argmax(1)[stream.personas], rng.integers(0, sim.n_products, LONG))
    rewards = click_from_uniform(stream.uniforms, ctr[stream.personas, arms]).astype(float)
    X = FeatureBuilder(sim.products).by_index.double()  # (4, 50, 9)
    return X, stream.personas, arms, rewards


def explicit_ridge(X, personas, arms, rewards, lam):
    n_arms, d = X.shape[1], X.shape[2]
    xs = X[torch.from_numpy(personas), torch.from_numpy(arms)]
    index = torch.from_numpy(arms)
    A = (lam * torch.eye(d, dtype=torch.float64)).repeat(n_arms, 1, 1)
    A.index_put_((index,), torch.einsum("ni,nj->nij", xs, xs), accumulate=True)
    b = torch.zeros(n_arms, d, dtype=torch.float64).index_put_((index,), xs * torch.from_numpy(rewards)[:, None],
                                                               accumulate=True)
    return torch.linalg.inv(A), torch.linalg.solve(A, b)


def test_linucb_ridge_stays_exact_over_100k_updates(shop_log):
    X, personas, arms, rewards = shop_log
    ridge = DisjointRidge(50, 9, 1.0)  # the default: float64
    rows = X[personas, arms]  # (T, 9)
    for t in range(LONG):
        ridge.update(int(arms[t]), rows[t], float(rewards[t]))
    A_inv, theta = explicit_ridge(X, personas, arms, rewards, 1.0)
    assert max(ridge.counts) > 40_000  # the favourite arms really are updated tens of thousands of times
    assert relative_error(ridge.A_inv, A_inv) < 1e-10
    assert relative_error(ridge.theta, theta) < 1e-8
    assert_symmetric_positive_definite(ridge.A_inv, asymmetry=1e-12)
    q = ridge.quadratic_form(X.reshape(-1, 50, 9)[0]), torch.stack([ridge.quadratic_form(X[p]) for p in range(4)])
    bonus = ucb_bonus(confidence_width(q[1]), 1.0)
    assert bool(torch.isfinite(bonus).all()) and bool((bonus >= 0).all())


@pytest.fixture(scope="module")
def agent_gradients():
    """The gradient vectors a small full NeuralUCB agent adds to A in 400 steps of the shop."""
    sim = ZooplusSimulator(seed=1)
    agent = NeuralUCBAgent(9, (16,), confidence="full", jacobian="analytic", lr=1e-2, seed=0)
    recorded = []
    update = agent.confidence_matrix.update

    def recording_update(g, solved=None):
        recorded.append(g.detach().double().clone())
        update(g, solved)

    agent.confidence_matrix.update = recording_update
    play(agent, PetShopEnvironment.from_stream(sim, sim.draw_stream(400)))
    return torch.stack(recorded), agent.p


def explicit_inverse(G, n, lam):
    """(lambda I + sum of the first n rows of G cycled, g g^T)^{-1}."""
    repeats, rest = divmod(n, len(G))
    A = lam * torch.eye(G.shape[1], dtype=torch.float64) + repeats * (G.T @ G) + G[:rest].T @ G[:rest]
    return torch.linalg.inv(A)


@pytest.mark.parametrize("flush_every,n", [(1, LONG), (32, 20_000)])
def test_full_neuralucb_matrix_stays_exact_over_100k_updates(agent_gradients, flush_every, n):
    """flush_every=1 is what p = 177 uses; the deferred form (large p) is checked on a shorter run."""
    G, p = agent_gradients
    assert p == 177 and G.shape == (400, p)
    conf = FullConfidence(p, 1.0, flush_every=flush_every)  # the default dtype: float64
    for t in range(n):
        conf.update(G[t % len(G)])
    exact = explicit_inverse(G, n, 1.0)
    assert relative_error(conf.inverse(), exact) < 1e-9
    assert_symmetric_positive_definite(conf.inverse(), asymmetry=1e-13)
    q = conf.quadratic_form(G)
    q_exact = torch.einsum("kp,pq,kq->k", G, exact, G)
    assert float(((q - q_exact).abs() / q_exact).max()) < 1e-8
    bonus = ucb_bonus(confidence_width(q), 1.0)
    assert bool(torch.isfinite(bonus).all()) and bool((bonus > 0).all())


def test_float32_drifts_and_refresh_corrects_it(agent_gradients):
    """float32 loses digits as updates accumulate; recomputing from A every 5,000 updates resets it."""
    G, p = agent_gradients
    n = 20_000
    plain = FullConfidence(p, 1.0, dtype=torch.float32)
    refreshed = FullConfidence(p, 1.0, dtype=torch.float32, refresh_every=5_000)
    G32 = G.float()
    for t in range(n):
        plain.update(G32[t % len(G)])
        refreshed.update(G32[t % len(G)])
    exact = explicit_inverse(G32.double(), n, 1.0)
    q_exact = torch.einsum("kp,pq,kq->k", G, exact, G)

    def bonus_error(conf):
        return float(((conf.quadratic_form(G32).double() - q_exact).abs() / q_exact).max())

    assert refreshed.n_refreshes == n // 5_000
    # Just refreshed: a float32 inverse's own rounding (~1e-5 here, BLAS-dependent); drifted: 10x worse or more.
    assert bonus_error(refreshed) < 1e-4 and 10 * bonus_error(refreshed) < bonus_error(plain)
    assert relative_error(refreshed.inverse(), exact) < relative_error(plain.inverse(), exact)


def test_lost_definiteness_raises_and_changes_nothing(agent_gradients):
    """float32 with lambda_ = 1e-12: rounding makes A^{-1} indefinite within tens of updates; refused, clearly."""
    G, p = agent_gradients
    conf = FullConfidence(p, 1e-12, dtype=torch.float32)
    G32 = G.float()
    with pytest.raises(FloatingPointError, match=r"lambda_=1e-12.*float64") as info:
        for t in range(len(G)):
            before = (conf.inverse().clone(), conf.n_updates)
            conf.update(G32[t])
    assert "nothing was updated" in str(info.value)
    assert torch.equal(conf.inverse(), before[0]) and conf.n_updates == before[1]
    # the same matrix in float64 keeps finite, non-negative bonuses
    conf64 = FullConfidence(p, 1e-12)
    for t in range(len(G)):
        conf64.update(G[t])
    bonus = ucb_bonus(confidence_width(conf64.quadratic_form(G)), 1.0)
    assert bool(torch.isfinite(bonus).all()) and bool((bonus >= 0).all())


def test_ridge_refresh_equals_the_closed_form(shop_log):
    X, personas, arms, rewards = shop_log
    n = 5_000
    ridge = DisjointRidge(50, 9, 0.5, dtype=torch.float32, refresh_every=100)
    rows = X[personas[:n], arms[:n]].float()
    for t in range(n):
        ridge.update(int(arms[t]), rows[t], float(rewards[t]))
    ridge.refresh()
    A_inv, theta = explicit_ridge(X, personas[:n], arms[:n], rewards[:n], 0.5)
    assert relative_error(ridge.A_inv, A_inv) < 1e-6
    assert relative_error(ridge.theta, theta) < 1e-4  # float32 theta of a nearly collinear design
    with pytest.raises(ValueError, match="refresh_every"):
        DisjointRidge(2, 2, 1.0).refresh()
    with pytest.raises(ValueError, match="refresh_every"):
        FullConfidence(2, 1.0).refresh()
