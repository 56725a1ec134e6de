r"""The exploration maths shared by every UCB agent.

The UCB score of an arm with feature (or gradient) vector :math:`g` is

.. math:: \text{score} = \hat\mu + \alpha \sqrt{g^\top A^{-1} g},
          \qquad A = \lambda I + \textstyle\sum_s g_s g_s^\top .

Three ways to keep :math:`A` (or what is needed of it):

* :class:`FullConfidence` keeps :math:`A^{-1}` exactly, by Sherman--Morrison
  rank-one updates (never a per-step inverse):
  :math:`A^{-1} \leftarrow A^{-1} - \frac{(A^{-1}g)(A^{-1}g)^\top}{1 + g^\top A^{-1} g}`.
* :class:`DiagonalConfidence` keeps only :math:`\operatorname{diag}(A)`, so
  :math:`g^\top A^{-1} g \approx \sum_j g_j^2 / A_{jj}` (memory and time O(p)).
* :class:`DisjointRidge` keeps one ridge regression per arm (LinUCB's
  :math:`A_a^{-1}, b_a, \hat\theta_a`), all arms in one batched tensor.

For a batch of vectors (rows of ``G``) the squared bonuses are the diagonal of
:math:`G A^{-1} G^\top` (Theorem 3.1), computed without forming the ``K x K`` matrix.

Taught in: chapters/03_3_neuralucb, chapters/03_6_jacobian, chapters/03_8_cost_of_exploration.
"""

from __future__ import annotations

import torch

from ._validation import check_float, check_int


def ucb_bonus(squared_bonus: torch.Tensor, alpha: float) -> torch.Tensor:
    r""":math:`\alpha\sqrt{\max(q, 0)}` elementwise (rounding can make ``q`` slightly negative)."""
    return alpha * torch.sqrt(torch.clamp(squared_bonus, min=0.0))


def batched_quadratic_form(G: torch.Tensor, A_inv: torch.Tensor) -> torch.Tensor:
    r"""``diag(G A^{-1} G^T)`` as one contraction, shape (K,).

    Parameters
    ----------
    G : torch.Tensor, shape (K, p)
    A_inv : torch.Tensor, shape (p, p), symmetric

    Examples
    --------
    >>> G = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    >>> batched_quadratic_form(G, torch.eye(2) / 2).tolist()
    [0.5, 1.0]
    """
    return torch.einsum("kp,pq,kq->k", G, A_inv, G)


class FullConfidence:
    r"""Exact :math:`A^{-1}` of :math:`A = \lambda I_p + \sum_s g_s g_s^\top`.

    Parameters
    ----------
    dim : int
        ``p``, the length of the vectors.
    lambda_ : float
        Ridge :math:`\lambda > 0`; :math:`A_0 = \lambda I`.
    dtype : torch.dtype, default torch.float64
        Precision of :math:`A^{-1}` (float64 keeps long runs from drifting).
    device : torch.device or str, default "cpu"

    Notes
    -----
    Cost per step: :meth:`solve` reads :math:`A^{-1}` once (``K p^2`` flops for ``K``
    distinct vectors), :meth:`update` reads and writes it once (``2 p^2``); memory ``p^2``.
    """

    def __init__(self, dim: int, lambda_: float, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.A_inv = torch.eye(self.dim, dtype=dtype, device=device) / self.lambda_
        self.n_updates = 0

    def solve(self, G: torch.Tensor) -> torch.Tensor:
        r"""Rows :math:`A^{-1} g_k` for the rows of ``G`` (shape (K, p)); uses symmetry."""
        return G.to(self.A_inv.dtype) @ self.A_inv

    def quadratic_form(self, G: torch.Tensor, solved: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`g_k^\top A^{-1} g_k` for each row, shape (K,); ``solved`` = :meth:`solve` ``(G)`` if known."""
        G = G.to(self.A_inv.dtype)
        if solved is None:
            solved = self.solve(G)
        return (G * solved).sum(dim=1)

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r"""Sherman--Morrison: :math:`A \leftarrow A + g g^\top`, in place on :math:`A^{-1}`.

        ``solved`` may pass :math:`A^{-1} g` if it is already known (saves one pass).
        """
        g = g.to(self.A_inv.dtype)
        u = self.A_inv @ g if solved is None else solved
        denominator = 1.0 + torch.dot(g, u)
        self.A_inv.addr_(u, u, alpha=-1.0 / float(denominator))
        self.n_updates += 1

    def inverse(self) -> torch.Tensor:
        r"""The current :math:`A^{-1}`, shape (p, p) (the live tensor; do not modify)."""
        return self.A_inv


class DiagonalConfidence:
    r"""Diagonal approximation: keep :math:`\operatorname{diag}(A)` only.

    :math:`g^\top A^{-1} g \approx \sum_j g_j^2 / A_{jj}`: exact while :math:`A` is
    diagonal, otherwise it ignores the correlations between coordinates; memory and
    time O(p) instead of O(p^2).

    Parameters
    ----------
    dim : int
    lambda_ : float
    dtype : torch.dtype, default torch.float32
        A sum of squares loses nothing worth keeping in float32 (see the drift tests).
    device : torch.device or str, default "cpu"
    """

    def __init__(self, dim: int, lambda_: float, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.A_diag = torch.full((self.dim,), self.lambda_, dtype=dtype, device=device)
        self.n_updates = 0

    def solve(self, G: torch.Tensor) -> None:
        """Nothing to precompute: the diagonal bonus needs no solve (returns ``None``)."""
        return None

    def quadratic_form(self, G: torch.Tensor, solved: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\sum_j g_{kj}^2 / A_{jj}` for each row, shape (K,)."""
        G = G.to(self.A_diag.dtype)
        return (G * G) @ torch.reciprocal(self.A_diag)

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r""":math:`\operatorname{diag}(A) \mathrel{+}= g \odot g`."""
        g = g.to(self.A_diag.dtype)
        self.A_diag.addcmul_(g, g)
        self.n_updates += 1

    def inverse(self) -> torch.Tensor:
        r"""The approximation :math:`\operatorname{diag}(A)^{-1}` as a dense matrix (for tests and plots)."""
        return torch.diag(1.0 / self.A_diag)


CONFIDENCE_MODES = {"full": FullConfidence, "diagonal": DiagonalConfidence}


class DisjointRidge:
    r"""One ridge regression per arm, batched: LinUCB's :math:`A_a^{-1}`, :math:`b_a`, :math:`\hat\theta_a`.

    Parameters
    ----------
    n_arms : int
    dim : int
        Length ``d`` of each arm's vector.
    lambda_ : float
        :math:`A_a = \lambda I + \sum_{s: a_s = a} x_s x_s^\top`.
    dtype, device
        Precision and place of the state (float64 by default).

    Attributes
    ----------
    A_inv : torch.Tensor, shape (n_arms, d, d)
    b : torch.Tensor, shape (n_arms, d)
    theta : torch.Tensor, shape (n_arms, d)
        :math:`\hat\theta_a = A_a^{-1} b_a`, kept current after each update.
    """

    def __init__(self, n_arms: int, dim: int, lambda_: float, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        eye = torch.eye(self.dim, dtype=dtype, device=device) / self.lambda_
        self.A_inv = eye.expand(self.n_arms, self.dim, self.dim).clone()
        self.b = torch.zeros(self.n_arms, self.dim, dtype=dtype, device=device)
        self.theta = torch.zeros_like(self.b)
        self.counts = [0] * self.n_arms  # updates per arm

    def estimate(self, X: torch.Tensor) -> torch.Tensor:
        r""":math:`x_a^\top \hat\theta_a` for row ``a`` of ``X`` (shape (n_arms, d)), shape (n_arms,)."""
        return (X.to(self.theta.dtype) * self.theta).sum(dim=1)

    def quadratic_form(self, X: torch.Tensor) -> torch.Tensor:
        r""":math:`x_a^\top A_a^{-1} x_a` for every arm at once, shape (n_arms,)."""
        X = X.to(self.A_inv.dtype)
        return torch.einsum("ad,ade,ae->a", X, self.A_inv, X)

    def update(self, arm: int, x: torch.Tensor, reward: float) -> None:
        """Add ``(x, reward)`` to arm ``arm``'s regression (Sherman--Morrison on its inverse)."""
        x = x.to(self.A_inv.dtype)
        A_inv = self.A_inv[arm]
        u = A_inv @ x
        A_inv.addr_(u, u, alpha=-1.0 / float(1.0 + torch.dot(x, u)))
        self.b[arm].add_(x, alpha=reward)
        self.theta[arm] = A_inv @ self.b[arm]
        self.counts[arm] += 1
