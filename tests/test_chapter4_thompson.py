"""Thompson agents: the right sampling law, exact widths, seeded draws."""

import copy
import math

import numpy as np
import pytest
import torch

from bandits_lib import LinTSAgent, LinUCBAgent, NeuralTSAgent, NeuralUCBAgent, ThompsonSampling
from bandits_lib.jacobian import compute_jacobian
from test_agents import contexts, ucb_components


def score_distribution(agent, X):
    """Mean and standard deviation of each arm's sampled score: (mean, alpha * width)."""
    return ucb_components(agent, X)


def sample_scores(agent, X, n_samples=1, generator=None):
    """Draws of every arm's score from the agent's own generator (as a decision draws them), or another one."""
    mean, width = agent.score(X)
    return ThompsonSampling().sample(mean, width, agent.alpha, generator or agent._rng, n_samples)


def trained(agent, steps=30, n_products=12):
    for X, reward_of in contexts(steps, seed=4, n_products=n_products):
        arm = agent.predict(X)
        agent.update(arm, X[arm], reward_of(arm))
    return agent


@pytest.mark.parametrize("make", [
    lambda: LinTSAgent(12, 9, v=0.7, seed=1),
    lambda: NeuralTSAgent(9, (8,), nu=0.8, confidence="full", seed=1),
    lambda: NeuralTSAgent(9, (8,), nu=0.8, confidence="diagonal", seed=1),
])
def test_sampled_scores_have_the_stated_mean_and_variance(make):
    """20,000 draws per arm: sample mean within 5 standard errors, sample variance within 5%."""
    agent = trained(make())
    X = next(contexts(1, seed=9, n_products=12))[0]
    mean, std = score_distribution(agent, X)
    draws = sample_scores(agent, X, n_samples=20_000)
    n = draws.shape[0]
    assert (std > 0).all()
    z = (draws.mean(0) - mean.double()) / (std.double() / math.sqrt(n))
    assert z.abs().max() < 5
    ratio = draws.var(0) / std.double() ** 2
    assert ((ratio - 1).abs() < 0.05).all()
    # the arms are sampled independently: correlations between arms are ~0
    corr = torch.corrcoef(draws.T)
    off_diagonal = corr[~torch.eye(len(mean), dtype=torch.bool)]
    assert off_diagonal.abs().max() < 0.05


def test_batched_draws_are_seeded_and_shaped():
    agent = trained(NeuralTSAgent(9, (8,), nu=0.5, seed=3))
    twin = copy.deepcopy(agent)
    X = next(contexts(1, seed=2, n_products=12))[0]
    batched = sample_scores(agent, X, n_samples=4)
    assert batched.shape == (4, 12)
    assert torch.equal(batched, sample_scores(twin, X, n_samples=4))
    assert not torch.equal(batched[0], batched[1])
    with pytest.raises(ValueError, match="n_samples"):
        sample_scores(agent, X, n_samples=0)


def test_lin_ts_width_is_linucb_bonus_with_alpha_v():
    ts, ucb = LinTSAgent(12, 9, v=0.3, seed=0), LinUCBAgent(12, 9, alpha=0.3)
    for X, reward_of in contexts(100, n_products=12):
        mean_ts, std_ts = score_distribution(ts, X)
        mean_ucb, bonus = ucb_components(ucb, X)
        torch.testing.assert_close(mean_ts, mean_ucb)
        torch.testing.assert_close(std_ts, bonus)
        arm = ts.predict(X)
        ucb.predict(X)
        ts.update(arm, X[arm], reward_of(arm))
        ucb.update(arm, X[arm], reward_of(arm))


@pytest.mark.parametrize("confidence", ["full", "diagonal"])
def test_neural_ts_std_is_the_papers_formula_with_explicit_inverse(confidence):
    """sigma = nu * sqrt(lambda g^T U^{-1} g / m), U = lambda I + sum g g^T / m, with m != 1."""
    lam, nu, m = 0.5, 0.7, 4.0
    agent = NeuralTSAgent(9, (8,), lambda_=lam, nu=nu, width=m, lr=1e-2, confidence=confidence, seed=2)
    added = []
    for X, reward_of in contexts(40, seed=3, n_products=12):
        mean, std = score_distribution(agent, X)
        J = compute_jacobian(agent.model, X, "loop").double()
        U = lam * torch.eye(agent.p, dtype=torch.float64)
        for g in added:
            U += torch.outer(g, g) / m
        if confidence == "diagonal":
            U = torch.diag(torch.diagonal(U))
        variance = lam * torch.einsum("kp,pq,kq->k", J, torch.linalg.inv(U), J) / m
        torch.testing.assert_close(std.double(), nu * torch.sqrt(variance), rtol=1e-4, atol=1e-6)
        with torch.no_grad():
            torch.testing.assert_close(mean, agent.model(X)[:, 0])
        arm = agent.predict(X)
        agent.update(arm, X[arm], reward_of(arm))
        added.append(J[arm])


def test_neural_ts_learns_like_neural_ucb():
    """Same network, same data, same Adam steps: identical means; std = UCB bonus with ridge m*lambda, alpha nu*sqrt(lambda)."""
    lam, nu, m = 2.0, 0.5, 3.0
    ts = NeuralTSAgent(9, (8,), lambda_=lam, nu=nu, width=m, lr=1e-2, seed=5)
    ucb = NeuralUCBAgent(9, (8,), lambda_=m * lam, alpha=nu * math.sqrt(lam), lr=1e-2, jacobian="analytic", seed=5)
    for X, reward_of in contexts(80, n_products=12):
        torch.testing.assert_close(score_distribution(ts, X), ucb_components(ucb, X))
        arm = ts.predict(X)
        ucb.predict(X)
        ts.update(arm, X[arm], reward_of(arm))
        ucb.update(arm, X[arm], reward_of(arm))


def test_draws_are_seeded_and_do_not_touch_global_state():
    X = next(contexts(1, n_products=12))[0]
    twins = [NeuralTSAgent(9, (8,), nu=1.0, seed=11) for _ in range(2)]
    other = NeuralTSAgent(9, (8,), nu=1.0, seed=12)
    torch.manual_seed(0)
    np.random.seed(0)
    before = (torch.random.get_rng_state().clone(), np.random.get_state()[1].copy())
    runs = [[sample_scores(agent, X) for _ in range(5)] for agent in twins]
    assert all(torch.equal(a, b) for a, b in zip(*runs))
    assert not torch.equal(sample_scores(other, X), runs[0][0])
    arm = twins[0].predict(X)
    twins[0].update(arm, X[arm], 1.0)
    assert torch.equal(torch.random.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])


def test_zero_spread_is_greedy():
    agent = trained(LinTSAgent(12, 9, v=0.0, seed=0))
    for X, _ in contexts(20, seed=5, n_products=12):
        mean, _ = score_distribution(agent, X)
        assert agent.predict(X) == int(torch.argmax(mean))
        agent.update(int(torch.argmax(mean)), X[int(torch.argmax(mean))], 0.0)


def test_thompson_explores_the_pet_shop():
    """NeuralTS with a real spread tries more arms than its greedy twin and earns more than random play."""
    from bandits_lib import RandomAgent, run_comparison, summarize
    agents = {"NeuralTS": lambda s: NeuralTSAgent(9, (16,), nu=0.3, confidence="diagonal", seed=s),
              "greedy": lambda s: NeuralTSAgent(9, (16,), nu=0.0, confidence="diagonal", seed=s),
              "random": RandomAgent(9)}
    df = run_comparison(agents, 1500, seeds=[0], n_jobs=1, progress=False)
    arms = df.groupby("agent", observed=True)["arm"].nunique()
    assert arms["NeuralTS"] > arms["greedy"]
    ctr = summarize(df)["expected_ctr_mean"]
    assert ctr["NeuralTS"] > ctr["random"] + 0.04
