"""Fast agents against the straightforward references, step by step."""

import numpy as np
import pytest
import torch

from bandits_lib import (
    FeatureBuilder,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    ZooplusSimulator,
    EpsilonGreedyAgent,
)
from bandits_lib.jacobian import compute_jacobian
from bandits_lib.reference import (
    ReferenceLastLayerNeuralUCBAgent,
    ReferenceLinUCBAgent,
    ReferenceNeuralLinUCBAgent,
    ReferenceNeuralUCBAgent,
)


def contexts(n_steps, seed=0, n_products=50):
    """A reproducible sequence of (feature matrix, reward function) from the simulator."""
    sim = ZooplusSimulator(n_products=n_products, seed=seed)
    features = FeatureBuilder(sim.products)
    stream = sim.draw_stream(n_steps)
    ctr = sim.ctr_matrix()
    for t in range(n_steps):
        persona = int(stream.personas[t])
        yield features.by_index[persona], (lambda arm, p=persona, u=stream.uniforms[t]: float(u < ctr[p, arm]))


def run_side_by_side(fast, slow, n_steps, atol, seed=0, n_products=50):
    """Feed both agents the same contexts; the slow one plays, both learn the same data."""
    for X, reward_of in contexts(n_steps, seed, n_products):
        e_fast, b_fast = fast.ucb_components(X)
        e_slow, b_slow = slow.ucb_components(X)
        torch.testing.assert_close(e_fast.double(), e_slow.double(), rtol=1e-4, atol=atol)
        torch.testing.assert_close(b_fast.double(), b_slow.double(), rtol=1e-4, atol=atol)
        arm = slow.predict(X)
        fast.predict(X)
        r = reward_of(arm)
        fast.update(arm, X[arm], r)  # the same arm for both: no divergence through ties
        slow.update(arm, X[arm], r)


def test_linucb_matches_per_arm_solve_and_inverse():
    run_side_by_side(LinUCBAgent(50, 9, alpha=1.5, lambda_=0.8), ReferenceLinUCBAgent(50, 9, alpha=1.5, lambda_=0.8), 400, 1e-9)


@pytest.mark.parametrize("jacobian", ["vmap", "analytic", "loop"])
@pytest.mark.parametrize("confidence", ["full", "diagonal"])
def test_neural_ucb_matches_draft_reference(confidence, jacobian):
    fast = NeuralUCBAgent(9, (16, 8), lambda_=1.0, alpha=1.5, lr=1e-2, confidence=confidence, jacobian=jacobian, seed=3)
    slow = ReferenceNeuralUCBAgent(9, (16, 8), lambda_=1.0, alpha=1.5, lr=1e-2, confidence=confidence, seed=3,
                                   dtype=torch.float64)
    run_side_by_side(fast, slow, 120, 2e-5, n_products=12)


def test_neural_ucb_draft_network_bonus_is_exact():
    """p = 9,601: check the kept A^{-1} against Woodbury's closed form of the inverse.

    With G the (t, p) matrix of the gradients added so far,
    (lambda I + G^T G)^{-1} = (I - G^T (lambda I + G G^T)^{-1} G) / lambda,
    which needs only a t x t inverse.
    """
    lam, alpha = 1.0, 1.5
    fast = NeuralUCBAgent(9, alpha=alpha, lambda_=lam, lr=1e-3, confidence="full", jacobian="analytic", seed=0)
    assert fast.p == 9601
    added = []
    for X, reward_of in contexts(6, seed=1):
        _, bonus = fast.ucb_components(X)
        J = compute_jacobian(fast.model, X, "loop").double()
        if added:
            G = torch.stack(added)
            inner = torch.linalg.inv(lam * torch.eye(len(added), dtype=torch.float64) + G @ G.T)
            JG = J @ G.T
            quad = ((J * J).sum(1) - torch.einsum("ki,ij,kj->k", JG, inner, JG)) / lam
        else:
            quad = (J * J).sum(1) / lam
        torch.testing.assert_close(bonus.double(), alpha * torch.sqrt(quad), rtol=1e-4, atol=1e-6)
        arm = fast.predict(X)
        fast.update(arm, X[arm], reward_of(arm))
        added.append(J[arm])


def test_last_layer_matches_draft_reference():
    fast = LastLayerNeuralUCBAgent(9, (16, 8), embedding_dim=6, alpha=1.5, lr=1e-2, seed=5)
    slow = ReferenceLastLayerNeuralUCBAgent(9, (16, 8), embedding_dim=6, alpha=1.5, lr=1e-2, seed=5)
    run_side_by_side(fast, slow, 200, 2e-5)


def test_hybrid_matches_draft_reference():
    fast = NeuralLinUCBAgent(50, 9, (16, 8), embedding_dim=6, alpha=1.5, lr=1e-2, seed=6)
    slow = ReferenceNeuralLinUCBAgent(50, 9, (16, 8), embedding_dim=6, alpha=1.5, lr=1e-2, seed=6)
    run_side_by_side(fast, slow, 200, 2e-5)


def test_ucb_components_do_not_change_the_agent():
    agent = NeuralUCBAgent(9, (8,), confidence="full", seed=0)
    X = FeatureBuilder(ZooplusSimulator().products)("fish_hobbyist")
    before = (agent.confidence.inverse().clone(), [p.clone() for p in agent.model.parameters()])
    first = agent.ucb_components(X)
    second = agent.ucb_components(X)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert torch.equal(agent.confidence.inverse(), before[0])
    assert all(torch.equal(a, b) for a, b in zip(agent.model.parameters(), before[1]))
    with pytest.raises(ValueError, match="predict"):
        agent.update(0, X[0], 1.0)  # ucb_components is not a predict


def test_scores_add_up_and_argmax_is_the_decision():
    agent = LinUCBAgent(50, 9, alpha=2.0)
    for X, reward_of in contexts(60):
        exploitation, bonus = agent.ucb_components(X)
        arm = agent.predict(X)
        assert arm == int(torch.argmax(exploitation + bonus))
        agent.update(arm, X[arm], reward_of(arm))


def test_neural_agent_learns_the_pet_shop():
    """After 3,000 steps the last-layer agent's average expected reward beats random by far."""
    from bandits_lib import run_comparison, summarize
    df = run_comparison({"last": lambda s: LastLayerNeuralUCBAgent(9, alpha=1.0, lr=1e-3, seed=s), "random": RandomAgent},
                        3000, seeds=[0], n_jobs=1, progress=False)
    stats = summarize(df)
    assert stats.loc["last", "expected_ctr_mean"] > stats.loc["random", "expected_ctr_mean"] + 0.15


def test_oracle_has_zero_regret_and_follows_the_shock():
    from bandits_lib import run_comparison
    df = run_comparison({"oracle": OracleAgent}, 600, market_shock_at=300, seeds=[1, 2], n_jobs=1, progress=False)
    assert df["regret"].abs().max() == 0.0
    puppy_after = df[(df.persona == "new_puppy_parent") & (df.step >= 300)]
    assert (puppy_after["expected_reward"] == 0.60).all()


def test_epsilon_greedy_and_random_are_seeded():
    X = torch.eye(50, 9)
    a, b = RandomAgent(seed=1), RandomAgent(seed=1)
    assert [a.predict(X) for _ in range(20)] == [b.predict(X) for _ in range(20)]
    e = EpsilonGreedyAgent(50, 9, epsilon=1.0, seed=2)
    arms = set()
    for _ in range(200):
        arm = e.predict(X)
        e.update(arm, X[arm], 0.0)
        arms.add(arm)
    assert len(arms) > 40
    greedy = EpsilonGreedyAgent(50, 9, epsilon=0.0, seed=2)
    arm = greedy.predict(X)
    greedy.update(arm, X[arm], 1.0)
    assert greedy.predict(X) == arm
