r"""Forgetting: confidence sets and regressions that weigh the recent past more.

The agents of Chapters 2 and 3 average over the whole history, so after a market shock
their estimates and their confidence move slowly. Three ways to forget, each kept
exactly (no per-step inverse of the big matrix):

* :class:`DiscountedRidge` -- D-LinUCB's weighted ridge (Russac, Vernade and Cappé,
  2019), one per arm, all arms on one clock. After ``t`` updates, arm ``a`` holds

  .. math:: V_a = \lambda I + \sum_{s \le t,\, a_s = a} \gamma^{t-s} x_s x_s^\top, \quad
            \tilde V_a = \lambda I + \sum_{s \le t,\, a_s = a} \gamma^{2(t-s)} x_s x_s^\top, \quad
            b_a = \sum_{s \le t,\, a_s = a} \gamma^{t-s} r_s x_s,

  the estimate :math:`\hat\theta_a = V_a^{-1} b_a` and the squared width
  :math:`x^\top V_a^{-1} \tilde V_a V_a^{-1} x`. These are the paper's recursions
  :math:`V \leftarrow \gamma V + x x^\top + (1-\gamma)\lambda I` and
  :math:`\tilde V \leftarrow \gamma^2 \tilde V + x x^\top + (1-\gamma^2)\lambda I`.
  Discounting multiplies :math:`S_a = V_a - \lambda I` by :math:`\gamma`, which keeps
  its eigenvectors: with :math:`S_a = U \Lambda U^\top` at the arm's last update,
  ``k`` steps later :math:`V_a^{-1} = U (\lambda + \gamma^k \Lambda)^{-1} U^\top`, exactly.
  So an update costs one eigendecomposition of the played arm's ``d x d`` matrix and the
  arms not played need no work at all.
* :class:`SlidingWindowRidge` -- ridge regression on the last ``window`` observations
  (SW-LinUCB, Cheung, Simchi-Levi and Zhu, 2019): Sherman--Morrison adds the new point
  and removes the one that leaves the window.
* :class:`DiscountedFullConfidence`, :class:`DiscountedDiagonalConfidence` -- a
  forgetting NeuralUCB confidence matrix :math:`A \leftarrow \gamma A + g g^\top`,
  :math:`A_0 = \lambda I`, i.e. :math:`A_t = \gamma^t \lambda I + \sum_s \gamma^{t-s} g_s g_s^\top`.
  Its inverse stays exact: :math:`A^{-1} \leftarrow A^{-1} / \gamma`, then Sherman--Morrison.
  Unlike D-LinUCB, the prior :math:`\lambda I` is discounted too (adding
  :math:`(1-\gamma)\lambda I` at every step is not a rank-one update of a ``p x p``
  matrix); directions no recent gradient has visited regain a large bonus.

Taught in: chapters/04_1_nonstationarity.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import torch

from ._validation import check_float, check_int
from .checkpoint import Stateful
from .confidence import DiagonalConfidence, DisjointRidge, FullConfidence

#: Largest :math:`1/(\lambda\gamma^t)` a discounted confidence may reach (float64 overflows near 1.8e308).
MAX_INVERSE_SCALE = 1e300


def check_discount(name: str, value: object) -> float:
    r"""A discount factor :math:`\gamma \in (0, 1]` (1 means no forgetting)."""
    value = check_float(name, value, strictly_positive=True, maximum=1.0)
    return value


class DiscountedRidge(Stateful):
    r"""D-LinUCB's discounted ridge regression, one per arm, on one shared clock.

    Parameters
    ----------
    n_arms : int
    dim : int
        Length ``d`` of each arm's feature vector.
    lambda_ : float
        Ridge :math:`\lambda > 0`.
    discount : float
        :math:`\gamma \in (0, 1]`; ``1`` gives back ordinary ridge regression (LinUCB).
    dtype, device
        Precision and place of the state (float64 by default).

    Attributes
    ----------
    t : int
        Number of updates so far (every update advances every arm's clock).
    S, S_tilde : torch.Tensor, shape (n_arms, d, d)
        :math:`\sum \gamma^{t_a-s} x_s x_s^\top` and :math:`\sum \gamma^{2(t_a-s)} x_s x_s^\top`
        at each arm's last update ``t_a``.
    eigenvalues, eigenvectors : torch.Tensor, shapes (n_arms, d) and (n_arms, d, d)
        :math:`S_a = U_a \operatorname{diag}(\Lambda_a) U_a^\top`.
    b : torch.Tensor, shape (n_arms, d)
        :math:`\sum \gamma^{t_a-s} r_s x_s` at each arm's last update.
    last_update : torch.Tensor of int64, shape (n_arms,)
        ``t_a`` (0 for an arm never played).

    Examples
    --------
    >>> ridge = DiscountedRidge(n_arms=1, dim=1, lambda_=1.0, discount=0.5)
    >>> ridge.update(0, torch.ones(1), 1.0)   # V = 1 + 1, b = 1
    >>> ridge.update(0, torch.ones(1), 0.0)   # V = 1 + 0.5 + 1, b = 0.5
    >>> round(float(ridge.theta[0, 0]), 6)     # 0.5 / 2.5
    0.2
    """

    def __init__(self, n_arms: int, dim: int, lambda_: float, discount: float,
                 dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.discount = check_discount("discount", discount)
        zeros = torch.zeros(self.n_arms, self.dim, self.dim, dtype=dtype, device=device)
        self.S = zeros.clone()
        self.S_tilde = zeros.clone()
        self.eigenvalues = torch.zeros(self.n_arms, self.dim, dtype=dtype, device=device)
        self.eigenvectors = torch.eye(self.dim, dtype=dtype, device=device).expand_as(zeros).clone()
        self.b = torch.zeros(self.n_arms, self.dim, dtype=dtype, device=device)
        self.last_update = torch.zeros(self.n_arms, dtype=torch.int64, device=device)
        self.t = 0

    def _decay(self) -> torch.Tensor:
        """:math:`\\gamma^{t - t_a}` for every arm, shape (n_arms,)."""
        elapsed = (self.t - self.last_update).to(self.b.dtype)
        return torch.pow(torch.as_tensor(self.discount, dtype=self.b.dtype, device=self.b.device), elapsed)

    def _solve(self, X: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
        r"""Rows :math:`V_a^{-1} x_a` for row ``a`` of ``X`` (shape (n_arms, d))."""
        U = self.eigenvectors
        # Batched products of tiny (d x d) matrices: elementwise products and sums beat einsum's overhead.
        coordinates = (U * X.unsqueeze(2)).sum(dim=1)  # U^T x
        coordinates = coordinates / (self.lambda_ + decay[:, None] * self.eigenvalues)
        return (U * coordinates.unsqueeze(1)).sum(dim=2)  # U c

    @property
    def theta(self) -> torch.Tensor:
        r""":math:`\hat\theta_a = V_a^{-1} b_a` at the current time, shape (n_arms, d)."""
        decay = self._decay()
        return self._solve(decay[:, None] * self.b, decay)

    def estimate(self, X: torch.Tensor) -> torch.Tensor:
        r""":math:`x_a^\top \hat\theta_a` for row ``a`` of ``X`` (shape (n_arms, d)), shape (n_arms,)."""
        return self.estimate_and_quadratic_form(X)[0]

    def quadratic_form(self, X: torch.Tensor) -> torch.Tensor:
        r""":math:`x_a^\top V_a^{-1} \tilde V_a V_a^{-1} x_a` for every arm, shape (n_arms,)."""
        return self.estimate_and_quadratic_form(X)[1]

    def estimate_and_quadratic_form(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Both of the above with one solve: :math:`y_a = V_a^{-1}x_a`, then
        :math:`y_a^\top (\gamma^k b_a)` and :math:`\lambda |y_a|^2 + \gamma^{2k} y_a^\top \tilde S_a y_a`."""
        X = X.to(self.b.dtype)
        decay = self._decay()
        y = self._solve(X, decay)  # V^{-1} x (V^{-1} symmetric)
        estimate = decay * (y * self.b).sum(dim=1)
        tilde = ((self.S_tilde * y.unsqueeze(1)).sum(dim=2) * y).sum(dim=1)  # y^T S~ y
        return estimate, self.lambda_ * (y * y).sum(dim=1) + decay * decay * tilde

    def update(self, arm: int, x: torch.Tensor, reward: float) -> None:
        """One step of the clock; ``(x, reward)`` joins arm ``arm``'s regression."""
        x = x.to(self.b.dtype)
        self.t += 1
        decay = self.discount ** (self.t - int(self.last_update[arm]))
        self.S[arm].mul_(decay).addr_(x, x)
        self.S_tilde[arm].mul_(decay * decay).addr_(x, x)
        self.b[arm].mul_(decay).add_(x, alpha=reward)
        self.last_update[arm] = self.t
        # d x d and symmetric: LAPACK through numpy is cheaper than torch for one small matrix.
        eigenvalues, eigenvectors = np.linalg.eigh(self.S[arm].cpu().numpy())
        self.eigenvalues[arm] = torch.from_numpy(eigenvalues).clamp(min=0.0)  # S is PSD; rounding can dip below 0
        self.eigenvectors[arm] = torch.from_numpy(eigenvectors)

    def matrices(self) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`V_a` and :math:`\tilde V_a` at the current time, each (n_arms, d, d) (for tests and plots)."""
        decay = self._decay()[:, None, None]
        eye = torch.eye(self.dim, dtype=self.b.dtype, device=self.b.device)
        return self.lambda_ * eye + decay * self.S, self.lambda_ * eye + decay * decay * self.S_tilde


class SlidingWindowRidge(DisjointRidge):
    r"""Per-arm ridge regression on the last ``window`` observations (all arms, one window).

    :math:`A_a = \lambda I + \sum_{s \in W,\, a_s = a} x_s x_s^\top` over the window
    :math:`W` of the ``window`` most recent updates. The new point enters by
    Sherman--Morrison; the point leaving the window is removed by the rank-one downdate
    :math:`A^{-1} \leftarrow A^{-1} + \frac{(A^{-1}x)(A^{-1}x)^\top}{1 - x^\top A^{-1} x}`.

    Parameters
    ----------
    n_arms, dim, lambda_, dtype, device
        As for :class:`~bandits_lib.confidence.DisjointRidge`.
    window : int
        Number of most recent observations kept (>= 1).

    Attributes
    ----------
    history : collections.deque of (arm, x, reward)
        The observations in the window, oldest first.
    """

    def __init__(self, n_arms: int, dim: int, lambda_: float, window: int,
                 dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.window = check_int("window", window, minimum=1)
        super().__init__(n_arms, dim, lambda_, dtype=dtype, device=device)
        self.history: deque[tuple[int, torch.Tensor, float]] = deque()

    def update(self, arm: int, x: torch.Tensor, reward: float) -> None:
        """Add ``(x, reward)`` to arm ``arm``; forget the observation that leaves the window."""
        x = x.to(self.A_inv.dtype).clone()
        super().update(arm, x, reward)
        self.history.append((arm, x, reward))
        if len(self.history) > self.window:
            self._remove(*self.history.popleft())

    def _remove(self, arm: int, x: torch.Tensor, reward: float) -> None:
        A_inv = self.A_inv[arm]
        u = A_inv @ x
        A_inv.addr_(u, u, alpha=1.0 / float(1.0 - torch.dot(x, u)))
        self.b[arm].sub_(x, alpha=reward)
        self.theta[arm] = A_inv @ self.b[arm]
        self.counts[arm] -= 1


def _check_scale(log_scale: float, lambda_: float) -> None:
    if log_scale - math.log(lambda_) > math.log(MAX_INVERSE_SCALE):
        raise FloatingPointError(
            "the discounted confidence matrix would overflow float64 (gamma^t * lambda is below 1e-300): "
            "use reset_every, or a discount closer to 1"
        )


class DiscountedFullConfidence(FullConfidence):
    r"""Exact :math:`A^{-1}` of :math:`A_t = \gamma A_{t-1} + g_t g_t^\top`, :math:`A_0 = \lambda I`.

    The update divides :math:`A^{-1}` by :math:`\gamma` (that is :math:`(\gamma A)^{-1}`)
    and applies Sherman--Morrison; :math:`A^{-1} g` from :meth:`solve` is reused,
    divided by :math:`\gamma` too. Same cost as :class:`FullConfidence`.

    Parameters
    ----------
    dim, lambda_, dtype, device
        As for :class:`~bandits_lib.confidence.FullConfidence`.
    discount : float
        :math:`\gamma \in (0, 1]`.

    Notes
    -----
    The smallest eigenvalue of :math:`A_t` is at least :math:`\gamma^t\lambda`; the
    update raises ``FloatingPointError`` before :math:`1/(\gamma^t\lambda)` exceeds
    ``MAX_INVERSE_SCALE`` (after about :math:`690/(1-\gamma)` updates). A periodic reset
    (see :class:`~bandits_lib.agents.ForgettingNeuralUCBAgent`) avoids it.
    """

    def __init__(self, dim: int, lambda_: float, discount: float, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        self.discount = check_discount("discount", discount)
        super().__init__(dim, lambda_, dtype=dtype, device=device)
        self.log_scale = 0.0  # log(1 / gamma^t)

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r""":math:`A \leftarrow \gamma A + g g^\top`, in place on :math:`A^{-1}`."""
        if self.discount < 1.0:
            _check_scale(self.log_scale - math.log(self.discount), self.lambda_)
            self.log_scale -= math.log(self.discount)
            self.A_inv.div_(self.discount)
            if solved is not None:
                solved = solved / self.discount
        super().update(g, solved)


class DiscountedDiagonalConfidence(DiagonalConfidence):
    r"""Diagonal of the discounted matrix: :math:`\operatorname{diag}(A) \leftarrow \gamma \operatorname{diag}(A) + g \odot g`.

    The diagonal of the very matrix :class:`DiscountedFullConfidence` keeps, so the two
    differ only by the diagonal approximation. Kept in float64 by default so that
    :math:`\gamma^t\lambda` does not underflow within a long run.

    Parameters
    ----------
    dim, lambda_, device
        As for :class:`~bandits_lib.confidence.DiagonalConfidence`.
    discount : float
        :math:`\gamma \in (0, 1]`.
    dtype : torch.dtype, default torch.float64
    """

    def __init__(self, dim: int, lambda_: float, discount: float, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> None:
        self.discount = check_discount("discount", discount)
        super().__init__(dim, lambda_, dtype=dtype, device=device)
        self.log_scale = 0.0

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r""":math:`\operatorname{diag}(A) \leftarrow \gamma\operatorname{diag}(A) + g \odot g`."""
        if self.discount < 1.0:
            _check_scale(self.log_scale - math.log(self.discount), self.lambda_)
            self.log_scale -= math.log(self.discount)
            self.A_diag.mul_(self.discount)
        super().update(g, solved)


DISCOUNTED_CONFIDENCE_MODES = {"full": DiscountedFullConfidence, "diagonal": DiscountedDiagonalConfidence}

__all__ = [
    "DiscountedRidge", "SlidingWindowRidge", "DiscountedFullConfidence", "DiscountedDiagonalConfidence",
    "DISCOUNTED_CONFIDENCE_MODES", "MAX_INVERSE_SCALE",
]
