"""Retrieve-then-re-rank: the Jacobian-free diagonal bonus, the agent, the environment."""

import numpy as np
import pytest
import torch

import pandas as pd

from bandits_lib import (
    DiagonalNeuralUCBAgent,
    NeuralUCBAgent,
    RetrievalEnvironment,
    SyntheticCatalogue,
    run_environment_comparison,
)
from bandits_lib.envs.retrieval import best_in_top_k, time_decisions
from bandits_lib.jacobian import compute_jacobian, diagonal_quadratic_form, mlp_forward
from bandits_lib.networks import NeuralBanditNetwork
from test_agents import ucb_components


@pytest.mark.parametrize("hidden", [(5,), (7, 4), (6, 5, 3)])
def test_diagonal_quadratic_form_equals_the_jacobian_route(hidden):
    model = NeuralBanditNetwork(4, hidden, seed=1).double()
    X = torch.randn(30, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    p = sum(q.numel() for q in model.parameters())
    A_diag = torch.rand(p, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 0.1
    J = compute_jacobian(model, X, "loop")
    activations, pre_activations = mlp_forward(model, X)
    torch.testing.assert_close(diagonal_quadratic_form(model, activations, pre_activations, A_diag),
                               (J * J / A_diag).sum(1), rtol=1e-10, atol=1e-12)


def test_diagonal_agent_is_neural_ucb_diagonal_step_by_step():
    fast = DiagonalNeuralUCBAgent(3, (16, 8), alpha=1.2, lr=1e-2, seed=4)
    reference = NeuralUCBAgent(3, (16, 8), alpha=1.2, lr=1e-2, confidence="diagonal", jacobian="vmap", seed=4)
    rng = np.random.default_rng(0)
    for _ in range(80):
        X = torch.from_numpy(rng.normal(size=(40, 3)).astype(np.float32))
        e_fast, b_fast = ucb_components(fast, X)
        e_ref, b_ref = ucb_components(reference, X)
        torch.testing.assert_close(e_fast, e_ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(b_fast, b_ref, rtol=1e-4, atol=1e-6)
        arm = reference.predict(X)
        fast.predict(X)
        reward = float(rng.random() < 0.4)
        fast.update(arm, X[arm], reward)
        reference.update(arm, X[arm], reward)
    for a, b in zip(fast.model.parameters(), reference.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def catalogue():
    return SyntheticCatalogue(n_products=5_000, embedding_dim=8, n_clusters=20, seed=0)


def test_catalogue_and_click_model(catalogue):
    assert catalogue.V.shape == (5_000, 8)
    torch.testing.assert_close(catalogue.V.norm(dim=1), torch.ones(5_000))
    users, traits = catalogue.draw_users(50, seed=1)
    assert set(traits.tolist()) <= {0.0, 1.0}
    s = catalogue.scores(users[0])
    torch.testing.assert_close(s, catalogue.V @ users[0])
    mu = catalogue.click_probability(s, 1.0)
    expected = torch.sigmoid(catalogue.a * s + catalogue.b * catalogue.quality - catalogue.c)
    torch.testing.assert_close(mu, expected)
    torch.testing.assert_close(catalogue.click_probability(s, 0.0), torch.sigmoid(catalogue.a * s - catalogue.c))


def test_retrieval_environment_candidates_features_and_oracle(catalogue):
    env = RetrievalEnvironment(catalogue, k=50, n_steps=20, seed=3)
    full = RetrievalEnvironment(catalogue, k=5_000, n_steps=20, seed=3)
    for t in range(20):
        X = env.context(t)
        s = catalogue.scores(env.users[t])
        top = set(torch.topk(s, 50).indices.tolist())
        items = [env.item(t, a) for a in range(50)]
        assert set(items) == top
        for a in (0, 17, 49):
            i = items[a]
            torch.testing.assert_close(X[a], torch.stack([s[i], catalogue.quality[i], env.traits[t]]))
            mu = float(catalogue.click_probability(s[i:i + 1], float(env.traits[t]), torch.tensor([i]))[0])
            assert env.expected_reward(t, a) == pytest.approx(mu, rel=1e-6)
            assert env.reward(t, a) == float(env.uniforms[t] < env.expected_reward(t, a))
        # exhaustive scoring sees every product; the oracle is its best arm
        full_ctr = [full.expected_reward(t, a) for a in range(5_000)]
        assert full.oracle_reward(t) == pytest.approx(max(full_ctr), rel=1e-6)
        assert env.oracle_reward(t) == full.oracle_reward(t)
        assert max(env.expected_reward(t, a) for a in range(50)) <= env.oracle_reward(t) + 1e-7
    # common random numbers: the same users and uniforms whatever k
    assert torch.equal(env.users, full.users) and np.array_equal(env.uniforms, full.uniforms)


def test_best_in_top_k_is_the_environments_best_candidate(catalogue):
    env = RetrievalEnvironment(catalogue, k=5_000, n_steps=70, seed=4)
    best = best_in_top_k(catalogue, env.users, env.traits, [1, 30, 5_000], batch=16)
    for t in range(70):
        assert best[5_000][t] == pytest.approx(env.oracle_reward(t), rel=1e-6)
        for k in (1, 30):
            small = RetrievalEnvironment(catalogue, k=k, n_steps=70, seed=4)
            assert best[k][t] == pytest.approx(max(small.expected_reward(t, a) for a in range(k)), rel=1e-6)
    with pytest.raises(ValueError, match="ks"):
        best_in_top_k(catalogue, env.users, env.traits, [5_001])


def test_larger_k_loses_less_to_retrieval(catalogue):
    """The best candidate's click probability can only grow with k (nested top-k sets)."""
    best = {}
    for k in (5, 50, 500, 5_000):
        env = RetrievalEnvironment(catalogue, k=k, n_steps=30, seed=1)
        best[k] = np.mean([max(env.expected_reward(t, a) for a in range(k)) for t in range(30)])
    assert best[5] <= best[50] <= best[500] <= best[5_000] + 1e-12
    assert best[5_000] > best[5]


def test_rerank_runs_one_comparison_per_k_and_timing(catalogue):
    """One comparison per k: the same users and uniforms per seed whatever k (common random numbers)."""
    ks = {"k = 10": 10, "k = 100": 100}
    agent = DiagonalNeuralUCBAgent(3, (8,), alpha=0.5, lr=1e-2)
    tables = [run_environment_comparison({name: agent}, lambda seed, k=k: RetrievalEnvironment(catalogue, k, 150, seed),
                                         seeds=[0, 1], n_jobs=1, progress=False) for name, k in ks.items()]
    for table in tables:
        table.attrs = {}
    df = pd.concat(tables, ignore_index=True)
    assert (df["regret"] >= -1e-7).all() and len(df) == 600
    assert df[df.agent == "k = 10"]["arm"].max() < 10 and df[df.agent == "k = 100"]["arm"].max() >= 10
    oracle = df.pivot_table(index=["seed", "step"], columns="agent", values="oracle_reward", observed=True)
    np.testing.assert_array_equal(oracle["k = 10"], oracle["k = 100"])  # same users whatever k
    env = RetrievalEnvironment(catalogue, 100, 10, seed=0)
    times = time_decisions(env, DiagonalNeuralUCBAgent(3, (8,), seed=0), range(5))
    assert set(times) == {"retrieval_ms", "rerank_ms"} and all(v > 0 for v in times.values())


@pytest.mark.parametrize("make,message", [
    (lambda c: RetrievalEnvironment(c, k=0, n_steps=5), "k"),
    (lambda c: RetrievalEnvironment(c, k=5_001, n_steps=5), "k must be <="),
    (lambda c: RetrievalEnvironment(c, k=5, n_steps=0), "n_steps"),
    (lambda c: RetrievalEnvironment("catalogue", k=5, n_steps=5), "catalogue"),
    (lambda c: SyntheticCatalogue(n_products=0), "n_products"),
    (lambda c: SyntheticCatalogue(spread=-1.0), "spread"),
    (lambda c: DiagonalNeuralUCBAgent(3, alpha=-1.0), "alpha"),
])
def test_bad_retrieval_input(catalogue, make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(catalogue)
