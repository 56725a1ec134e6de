r"""Disjoint LinUCB (Li, Chu, Langford and Schapire, 2010).

Each arm ``a`` keeps its own ridge regression
:math:`A_a = \lambda I + \sum_{s:a_s=a} x_s x_s^\top`, :math:`b_a = \sum_{s:a_s=a} r_s x_s`,
:math:`\hat\theta_a = A_a^{-1} b_a`, and the arm played maximises

.. math:: p_{t,a} = x_{t,a}^\top \hat\theta_a + \alpha\sqrt{x_{t,a}^\top A_a^{-1} x_{t,a}}.

All arms are scored in one batched contraction; :math:`A_a^{-1}` is kept by rank-one
(Sherman--Morrison) updates of the played arm only.

Taught in: chapters/02_linucb.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_float, check_int
from ..exploration import DisjointRidge, ucb_bonus
from .base import BanditAgent, UCBAgent


class LinUCBAgent(UCBAgent):
    r"""Disjoint LinUCB over ``n_products`` arms.

    Parameters
    ----------
    n_products : int
        Number of arms (one linear model each).
    feature_dim : int
        Width ``d`` of each arm's feature vector.
    alpha : float, default 1.0
        Exploration weight :math:`\alpha \ge 0`.
    lambda_ : float, default 1.0
        Ridge :math:`\lambda > 0` (:math:`A_a` starts at :math:`\lambda I`).
    seed : int or None
        Unused (LinUCB is deterministic); accepted so every agent takes a seed.
    device : str or torch.device, default "cpu"

    Examples
    --------
    >>> agent = LinUCBAgent(n_products=3, feature_dim=2, alpha=1.0)
    >>> X = torch.eye(3, 2)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.ridge.theta[arm].tolist()  # ridge: x / (lambda + |x|^2) * r
    [0.5, 0.0]
    """

    def __init__(
        self,
        n_products: int,
        feature_dim: int,
        alpha: float = 1.0,
        lambda_: float = 1.0,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        n_products = check_int("n_products", n_products, minimum=1)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        super().__init__(feature_dim, device)
        self.n_arms = n_products
        self.seed = seed
        self.ridge = DisjointRidge(n_products, self.feature_dim, self.lambda_, device=self.device)

    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, None]:
        # The conversion to float64 and the rows' outer products are made once per feature matrix.
        dtype = self.ridge.A_inv.dtype
        X = features.as_dtype(dtype)
        squared = self.ridge.quadratic_form(X, outer=features.outer(dtype))
        return self.ridge.estimate(X), ucb_bonus(squared, self.alpha), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: None) -> None:
        self.ridge.update(arm, x, reward)


class EpsilonGreedyAgent(BanditAgent):
    r"""Per-arm ridge regression played greedily, with a uniformly random arm w.p. :math:`\varepsilon`.

    Parameters
    ----------
    n_arms : int
    feature_dim : int
    epsilon : float, default 0.1
        Probability of a uniformly random arm, in [0, 1].
    lambda_ : float, default 1.0
    seed : int or None
        Seed of the exploration coin.
    device : str or torch.device, default "cpu"
    """

    def __init__(
        self,
        n_arms: int,
        feature_dim: int,
        epsilon: float = 0.1,
        lambda_: float = 1.0,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.epsilon = check_float("epsilon", epsilon, minimum=0.0, maximum=1.0)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        super().__init__(feature_dim, device)
        self.n_arms = n_arms
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.ridge = DisjointRidge(n_arms, self.feature_dim, self.lambda_, device=self.device)

    def _decide(self, features) -> tuple[int, None]:
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(features.X.shape[0])), None
        return int(torch.argmax(self.ridge.estimate(features.as_dtype(self.ridge.theta.dtype)))), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: None) -> None:
        self.ridge.update(arm, x, reward)


__all__ = ["LinUCBAgent", "EpsilonGreedyAgent", "BanditAgent"]
