"""Fast agents against the straightforward references, step by step."""

import numpy as np
import pytest
import torch

from agent_cases import CASES, agent_classes_exported, info_for
from bandits_lib import (
    EpsilonGreedyAgent,
    FeatureBuilder,
    LastLayerNeuralUCBAgent,
    LinTSAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralTSAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    ZooplusSimulator,
)
from bandits_lib.exploration import UCB, EpsilonGreedy
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


def ucb_components(agent, X, info=None):
    """The UCB score's two terms: the mean, and the bonus alpha * width (a reference's own method)."""
    if not hasattr(agent, "score"):  # the draft-style references of bandits_lib.reference
        return agent.ucb_components(X)
    mean, width = agent.score(X, info)
    return mean, agent.alpha * width


def run_side_by_side(fast, slow, n_steps, atol, seed=0, n_products=50):
    """Feed both agents the same contexts; the slow one plays, both learn the same data."""
    for X, reward_of in contexts(n_steps, seed, n_products):
        e_fast, b_fast = ucb_components(fast, X)
        e_slow, b_slow = ucb_components(slow, X)
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
        _, bonus = ucb_components(fast, X)
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


def test_score_does_not_change_the_agent():
    agent = NeuralUCBAgent(9, (8,), confidence="full", seed=0)
    X = FeatureBuilder(ZooplusSimulator().products)("fish_hobbyist")
    before = (agent.confidence_matrix.inverse().clone(), [p.clone() for p in agent.model.parameters()])
    first = agent.score(X)
    second = agent.score(X)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert torch.equal(agent.confidence_matrix.inverse(), before[0])
    assert all(torch.equal(a, b) for a, b in zip(agent.model.parameters(), before[1]))
    with pytest.raises(ValueError, match="predict"):
        agent.update(0, X[0], 1.0)  # score is not a predict


def test_scores_add_up_and_argmax_is_the_decision():
    agent = LinUCBAgent(50, 9, alpha=2.0)
    for X, reward_of in contexts(60):
        exploitation, bonus = ucb_components(agent, X)
        arm = agent.predict(X)
        assert arm == int(torch.argmax(exploitation + bonus))
        agent.update(arm, X[arm], reward_of(arm))


def test_neural_agent_learns_the_pet_shop():
    """After 3,000 steps the last-layer agent's average expected reward beats random by far."""
    from bandits_lib import run_comparison, summarize
    df = run_comparison({"last": LastLayerNeuralUCBAgent(9, alpha=1.0, lr=1e-3), "random": RandomAgent(9)},
                        3000, seeds=[0], n_jobs=1, progress=False)
    stats = summarize(df)
    assert stats.loc["last", "expected_ctr_mean"] > stats.loc["random", "expected_ctr_mean"] + 0.15


def test_oracle_has_zero_regret_and_follows_the_shock():
    from bandits_lib import run_comparison
    df = run_comparison({"oracle": OracleAgent(9)}, 600, market_shock_at=300, seeds=[1, 2], n_jobs=1, progress=False)
    assert df["regret"].abs().max() == 0.0
    puppy_after = df[(df.persona == "new_puppy_parent") & (df.step >= 300)]
    assert (puppy_after["expected_reward"] == 0.60).all()


def test_epsilon_greedy_and_random_are_seeded():
    X = torch.eye(50, 9)
    a, b = RandomAgent(9, seed=1), RandomAgent(9, seed=1)
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



# ------------------------------------------------------------------ one registry, parameters, exploration as a seam
def test_the_registry_covers_every_agent_the_library_exports():
    covered = {type(case()) for case in CASES.values()}
    missing = sorted(cls.__name__ for cls in agent_classes_exported() - covered)
    assert not missing, f"add these agents to tests/agent_cases.py: {missing}"


@pytest.mark.parametrize("name", list(CASES))
def test_get_params_and_clone_rebuild_the_agent(name):
    """Constructors store their parameters: get_params reads them back, clone builds the same fresh agent."""
    agent = CASES[name](7, 9, 4)
    params = agent.get_params()
    twin = agent.clone()
    assert type(twin) is type(agent) and repr(twin.get_params()) == repr(params)
    X = torch.eye(7, 9)
    info = info_for(7)
    assert agent.predict(X, info) == twin.predict(X, info)  # same seed, same first decision
    if "seed" in params:
        other = agent.clone(seed=5)
        assert other.seed == 5 and other.get_params().keys() == params.keys()
    with pytest.raises(TypeError, match="no parameter"):
        agent.clone(colour="red")


def test_exploration_is_one_object_swap():
    """LinUCB with the Thompson rule is linear Thompson sampling; with EpsilonGreedy, epsilon-greedy."""
    X = torch.eye(50, 9)
    pairs = [(LinUCBAgent(50, 9, alpha=0.5, exploration="thompson", seed=3), LinTSAgent(50, 9, v=0.5, seed=3)),
             (LinUCBAgent(50, 9, exploration=EpsilonGreedy(0.3), seed=3), EpsilonGreedyAgent(50, 9, epsilon=0.3, seed=3)),
             (NeuralUCBAgent(9, (8,), lambda_=2.0, alpha=0.5, exploration="thompson", seed=3),
              NeuralTSAgent(9, (8,), lambda_=1.0, nu=0.5, width=2.0, seed=3))]
    for swapped, named in pairs:
        for step in range(40):
            arm = swapped.predict(X)
            assert named.predict(X) == arm, (type(named).__name__, step)
            swapped.update(arm, X[arm], float(step % 3 == 0))
            named.update(arm, X[arm], float(step % 3 == 0))


def test_rules_decide_from_mean_and_width():
    mean = torch.tensor([0.5, 0.4, 0.1], dtype=torch.float64)
    width = torch.tensor([0.0, 0.2, 0.1], dtype=torch.float64)
    assert UCB().choose(mean, width, 1.0, None) == 1
    assert UCB().choose(mean, width, 0.0, None) == 0
    greedy = EpsilonGreedy(0.0)
    assert greedy.choose(mean, width, 9.0, greedy.generator(0)) == 0
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonGreedy(2.0)
