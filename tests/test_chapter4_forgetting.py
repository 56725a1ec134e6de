"""Forgetting agents against explicit weighted sums, windows and inverses."""

import numpy as np
import pytest
import torch

from bandits_lib import (
    DiscountedLinUCBAgent,
    ForgettingNeuralUCBAgent,
    LinUCBAgent,
    NeuralUCBAgent,
    SlidingWindowLinUCBAgent,
)
from bandits_lib.forgetting import (
    DiscountedDiagonalConfidence,
    DiscountedFullConfidence,
    DiscountedRidge,
    SlidingWindowRidge,
)
from bandits_lib.jacobian import compute_jacobian
from test_agents import contexts, run_side_by_side, ucb_components


def random_stream(n, n_arms, dim, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield int(rng.integers(n_arms)), torch.from_numpy(rng.normal(size=dim)), float(rng.random() < 0.3)


def test_discounted_ridge_equals_the_weighted_sums_of_the_paper():
    """V, tilde V, theta and the width from the recursions equal the explicit weighted sums."""
    n_arms, dim, lam, gamma = 4, 3, 0.7, 0.93
    ridge = DiscountedRidge(n_arms, dim, lam, gamma)
    history = []
    for step, (arm, x, r) in enumerate(random_stream(120, n_arms, dim, seed=1), start=1):
        ridge.update(arm, x, r)
        history.append((step, arm, x, r))
        if step % 17 and step != 120:
            continue
        V, V_tilde = ridge.matrices()
        X = torch.from_numpy(np.random.default_rng(step).normal(size=(n_arms, dim)))
        for a in range(n_arms):
            V_ref = lam * torch.eye(dim, dtype=torch.float64)
            Vt_ref = lam * torch.eye(dim, dtype=torch.float64)
            b_ref = torch.zeros(dim, dtype=torch.float64)
            for s, arm_s, x_s, r_s in history:
                if arm_s == a:
                    w = gamma ** (step - s)
                    V_ref += w * torch.outer(x_s, x_s)
                    Vt_ref += w * w * torch.outer(x_s, x_s)
                    b_ref += w * r_s * x_s
            torch.testing.assert_close(V[a], V_ref, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(V_tilde[a], Vt_ref, rtol=1e-10, atol=1e-12)
            theta_ref = torch.linalg.solve(V_ref, b_ref)
            torch.testing.assert_close(ridge.theta[a], theta_ref, rtol=1e-9, atol=1e-12)
            V_inv = torch.linalg.inv(V_ref)
            width_ref = X[a] @ V_inv @ Vt_ref @ V_inv @ X[a]
            torch.testing.assert_close(ridge.quadratic_form(X)[a], width_ref, rtol=1e-9, atol=1e-12)
            torch.testing.assert_close(ridge.estimate(X)[a], X[a] @ theta_ref, rtol=1e-9, atol=1e-12)


def test_discounted_ridge_recursions_match_the_papers_update_rule():
    """One global step: V <- gamma V + x x^T + (1 - gamma) lambda I (every arm), tilde V with gamma^2."""
    ridge = DiscountedRidge(2, 2, 1.5, 0.8)
    V_prev, Vt_prev = (m.clone() for m in ridge.matrices())
    for arm, x, r in random_stream(30, 2, 2, seed=4):
        ridge.update(arm, x, r)
        V, Vt = ridge.matrices()
        eye = torch.eye(2, dtype=torch.float64)
        expected_V = 0.8 * V_prev + (1 - 0.8) * 1.5 * eye
        expected_Vt = 0.64 * Vt_prev + (1 - 0.64) * 1.5 * eye
        expected_V[arm] += torch.outer(x, x)
        expected_Vt[arm] += torch.outer(x, x)
        torch.testing.assert_close(V, expected_V, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(Vt, expected_Vt, rtol=1e-10, atol=1e-12)
        V_prev, Vt_prev = V.clone(), Vt.clone()


def test_discount_one_is_linucb():
    """gamma = 1: tilde V = V, so the width is x^T V^{-1} x and D-LinUCB is LinUCB."""
    run_side_by_side(DiscountedLinUCBAgent(50, 9, alpha=1.5, lambda_=0.8, discount=1.0),
                     LinUCBAgent(50, 9, alpha=1.5, lambda_=0.8), 300, 1e-9)


def test_sliding_window_equals_ridge_on_the_last_w_points():
    n_arms, dim, lam, window = 3, 4, 0.5, 25
    ridge = SlidingWindowRidge(n_arms, dim, lam, window)
    history = []
    for step, (arm, x, r) in enumerate(random_stream(400, n_arms, dim, seed=2), start=1):
        ridge.update(arm, x, r)
        history.append((arm, x, r))
        recent = history[-window:]
        assert len(ridge.history) == len(recent)
        for a in range(n_arms):
            A = lam * torch.eye(dim, dtype=torch.float64)
            b = torch.zeros(dim, dtype=torch.float64)
            for arm_s, x_s, r_s in recent:
                if arm_s == a:
                    A += torch.outer(x_s, x_s)
                    b += r_s * x_s
            torch.testing.assert_close(ridge.A_inv[a], torch.linalg.inv(A), rtol=1e-8, atol=1e-10)
            torch.testing.assert_close(ridge.theta[a], torch.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
            assert ridge.counts[a] == sum(arm_s == a for arm_s, _, _ in recent)


def test_sliding_window_longer_than_the_run_is_linucb():
    run_side_by_side(SlidingWindowLinUCBAgent(50, 9, alpha=1.5, window=10_000),
                     LinUCBAgent(50, 9, alpha=1.5), 300, 1e-9)


@pytest.mark.parametrize("cls", [DiscountedFullConfidence, DiscountedDiagonalConfidence])
def test_discounted_confidence_equals_explicit_weighted_sum(cls):
    """A_t = gamma^t lambda I + sum_s gamma^(t-s) g_s g_s^T; full: its exact inverse, diagonal: its diagonal."""
    p, lam, gamma = 7, 0.6, 0.9
    confidence = cls(p, lam, gamma)
    rng = np.random.default_rng(3)
    gradients = []
    for t in range(1, 60):
        g = torch.from_numpy(rng.normal(size=p))
        solved = confidence.prepare(g.unsqueeze(0))
        confidence.update(g, None if solved is None else solved[0])
        gradients.append(g)
        A = gamma ** t * lam * torch.eye(p, dtype=torch.float64)
        for s, g_s in enumerate(gradients, start=1):
            A += gamma ** (t - s) * torch.outer(g_s, g_s)
        G = torch.from_numpy(rng.normal(size=(3, p)))
        if cls is DiscountedFullConfidence:
            torch.testing.assert_close(confidence.inverse(), torch.linalg.inv(A), rtol=1e-7, atol=1e-9)
            expected = torch.einsum("kp,pq,kq->k", G, torch.linalg.inv(A), G)
        else:
            torch.testing.assert_close(confidence.A_diag, torch.diagonal(A), rtol=1e-10, atol=1e-12)
            expected = (G * G / torch.diagonal(A)).sum(1)
        torch.testing.assert_close(confidence.quadratic_form(G).double(), expected, rtol=1e-7, atol=1e-9)


def test_discounted_confidence_refuses_to_overflow():
    confidence = DiscountedFullConfidence(2, 1.0, 0.5)
    g = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="reset_every"):
        for _ in range(2000):
            confidence.update(g)
    assert torch.isfinite(confidence.inverse()).all()


@pytest.mark.parametrize("confidence", ["full", "diagonal"])
def test_forgetting_neural_ucb_without_forgetting_is_neural_ucb(confidence):
    fast = ForgettingNeuralUCBAgent(9, (16, 8), alpha=1.5, lr=1e-2, confidence=confidence, discount=1.0, seed=3)
    reference = NeuralUCBAgent(9, (16, 8), alpha=1.5, lr=1e-2, confidence=confidence, jacobian="analytic", seed=3,
                               confidence_dtype=torch.float64)
    run_side_by_side(fast, reference, 150, 1e-6, n_products=12)


def test_forgetting_neural_ucb_bonus_is_the_discounted_inverse():
    """Against the explicit A of the gradients it was given, weighted by gamma^(t-s)."""
    gamma, lam, alpha = 0.95, 1.0, 1.5
    agent = ForgettingNeuralUCBAgent(9, (8,), lambda_=lam, alpha=alpha, confidence="full", discount=gamma, seed=0)
    added = []
    for X, reward_of in contexts(40, seed=2, n_products=12):
        _, bonus = ucb_components(agent, X)
        J = compute_jacobian(agent.model, X, "loop").double()
        t = len(added)
        A = gamma ** t * lam * torch.eye(agent.p, dtype=torch.float64)
        for s, g in enumerate(added, start=1):
            A += gamma ** (t - s) * torch.outer(g, g)
        quad = torch.einsum("kp,pq,kq->k", J, torch.linalg.inv(A), J)
        torch.testing.assert_close(bonus.double(), alpha * torch.sqrt(quad), rtol=1e-4, atol=1e-6)
        arm = agent.predict(X)
        agent.update(arm, X[arm], reward_of(arm))
        added.append(J[arm])


def test_periodic_reset_puts_the_confidence_back_to_the_prior():
    agent = ForgettingNeuralUCBAgent(9, (8,), confidence="full", discount=1.0, reset_every=10, seed=0)
    for step, (X, reward_of) in enumerate(contexts(25, n_products=12), start=1):
        arm = agent.predict(X)
        agent.update(arm, X[arm], reward_of(arm))
        fresh = torch.equal(agent.confidence_matrix.inverse(), torch.eye(agent.p, dtype=torch.float64) / agent.lambda_)
        assert fresh == (step % 10 == 0)
    assert agent.n_resets == 2


def test_discounted_estimate_tracks_a_change_that_ridge_averages_away():
    """One arm, reward 1 for 2,000 steps then 0 for 500: ridge keeps ~0.8, D-LinUCB follows to ~0."""
    x = torch.ones(1, dtype=torch.float64)
    ridge = DiscountedRidge(1, 1, 1.0, 1.0)
    discounted = DiscountedRidge(1, 1, 1.0, 0.99)
    for t in range(2_500):
        reward = 1.0 if t < 2_000 else 0.0
        ridge.update(0, x, reward)
        discounted.update(0, x, reward)
    assert float(ridge.theta[0, 0]) == pytest.approx(2_000 / 2_501)
    weights = 0.99 ** np.arange(2_500)  # newest first
    expected = weights[500:].sum() / (1.0 + weights.sum())
    assert float(discounted.theta[0, 0]) == pytest.approx(expected, rel=1e-9)
    assert float(discounted.theta[0, 0]) < 0.01
    # and its width has grown back to what ~1/(1 - gamma) observations give, not 2,500
    w_ridge, w_disc = ridge.quadratic_form(x[None])[0], discounted.quadratic_form(x[None])[0]
    assert float(w_disc) > 10 * float(w_ridge)
