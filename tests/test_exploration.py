import numpy as np
import pytest
import torch

from bandits_lib.confidence import (
    DiagonalConfidence,
    DisjointRidge,
    FullConfidence,
    batched_quadratic_form,
    confidence_width,
)
from bandits_lib.exploration import ucb_bonus


def test_batched_bonus_equals_explicit_inverse():
    torch.manual_seed(0)
    p, k, alpha = 40, 12, 1.7
    G = torch.randn(30, p, dtype=torch.float64)
    A = 0.5 * torch.eye(p, dtype=torch.float64) + G.T @ G
    J = torch.randn(k, p, dtype=torch.float64)
    A_inv = torch.linalg.inv(A)
    explicit = torch.stack([alpha * torch.sqrt(g @ A_inv @ g) for g in J])
    torch.testing.assert_close(ucb_bonus(confidence_width(batched_quadratic_form(J, A_inv)), alpha), explicit)
    torch.testing.assert_close(torch.diagonal(J @ A_inv @ J.T), batched_quadratic_form(J, A_inv))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 2e-3)])
def test_sherman_morrison_equals_inverse_after_hundreds_of_updates(dtype, tol):
    torch.manual_seed(1)
    p, lam = 30, 0.7
    conf = FullConfidence(p, lam, dtype=dtype)
    A = lam * torch.eye(p, dtype=torch.float64)
    for _ in range(500):
        g = torch.randn(p, dtype=torch.float64)
        A += torch.outer(g, g)
        conf.update(g)
    exact = torch.linalg.inv(A)
    assert torch.allclose(conf.inverse().double(), exact, rtol=tol, atol=tol * exact.abs().max())
    # solved rows and quadratic forms agree with the explicit inverse
    J = torch.randn(4, p, dtype=torch.float64)
    torch.testing.assert_close(conf.quadratic_form(J).double(), torch.einsum("kp,pq,kq->k", J, exact, J), rtol=tol * 10, atol=tol)


def test_update_with_precomputed_solve_equals_plain_update():
    torch.manual_seed(2)
    a, b = FullConfidence(10, 1.0), FullConfidence(10, 1.0)
    for _ in range(50):
        g = torch.randn(10, dtype=torch.float64)
        a.update(g)
        b.update(g, b.solve(g.unsqueeze(0))[0])
    torch.testing.assert_close(a.inverse(), b.inverse())


def test_diagonal_confidence_keeps_the_diagonal_of_A():
    torch.manual_seed(3)
    p, lam = 25, 2.0
    conf = DiagonalConfidence(p, lam)
    A = lam * torch.eye(p)
    for _ in range(100):
        g = torch.randn(p)
        A += torch.outer(g, g)
        conf.update(g)
    torch.testing.assert_close(conf.A_diag, torch.diagonal(A), rtol=1e-5, atol=1e-5)
    J = torch.randn(3, p)
    torch.testing.assert_close(conf.quadratic_form(J), (J ** 2 / torch.diagonal(A)).sum(1), rtol=1e-5, atol=1e-6)


def test_disjoint_ridge_equals_closed_form_ridge_per_arm():
    rng = np.random.default_rng(4)
    n_arms, d, lam = 5, 4, 0.3
    ridge = DisjointRidge(n_arms, d, lam)
    data = {a: ([], []) for a in range(n_arms)}
    for _ in range(300):
        arm = int(rng.integers(n_arms))
        x, r = rng.normal(size=d), float(rng.normal())
        ridge.update(arm, torch.from_numpy(x), r)
        data[arm][0].append(x)
        data[arm][1].append(r)
    for arm, (xs, rs) in data.items():
        X, y = np.array(xs).reshape(-1, d), np.array(rs)
        theta = np.linalg.solve(lam * np.eye(d) + X.T @ X, X.T @ y)
        np.testing.assert_allclose(ridge.theta[arm].numpy(), theta, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ridge.A_inv[arm].numpy(), np.linalg.inv(lam * np.eye(d) + X.T @ X), atol=1e-12)
        assert ridge.counts[arm] == len(xs)


@pytest.mark.parametrize("cls", [FullConfidence, DiagonalConfidence])
def test_bad_lambda(cls):
    with pytest.raises(ValueError, match="lambda_"):
        cls(3, 0.0)
    with pytest.raises(ValueError, match="dim"):
        cls(0, 1.0)
