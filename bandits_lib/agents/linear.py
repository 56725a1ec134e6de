r"""Linear agents: one ridge regression per arm (the disjoint model of Chapter 2).

* :class:`LinUCBAgent` -- disjoint LinUCB (Li, Chu, Langford and Schapire, 2010).
  Each arm ``a`` keeps :math:`A_a = \lambda I + \sum_{s:a_s=a} x_s x_s^\top`,
  :math:`b_a = \sum_{s:a_s=a} r_s x_s`, :math:`\hat\theta_a = A_a^{-1} b_a`, and scores

  .. math:: \hat\mu_a = x_{t,a}^\top \hat\theta_a, \qquad
            w_a = \sqrt{x_{t,a}^\top A_a^{-1} x_{t,a}};

  with the default UCB rule it plays :math:`\argmax_a \hat\mu_a + \alpha w_a`.
* :class:`LinTSAgent` -- the same regressions, decided by Thompson sampling (Agrawal
  and Goyal, 2013).
* :class:`EpsilonGreedyAgent` -- the same regressions, played greedily with a random
  arm with probability :math:`\varepsilon`.
* :class:`DiscountedLinUCBAgent` and :class:`SlidingWindowLinUCBAgent` -- regressions
  that forget (D-LinUCB, SW-LinUCB; the maths is in :mod:`bandits_lib.forgetting`).

All arms are scored in one batched contraction; :math:`A_a^{-1}` is kept by rank-one
(Sherman--Morrison) updates of the played arm only.

Taught in: chapters/02_linucb, chapters/04_1_nonstationarity, chapters/04_2_thompson.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .._validation import check_float, check_int
from ..confidence import DisjointRidge, confidence_width
from ..exploration import EpsilonGreedy, ExplorationRule
from ..forgetting import DiscountedRidge, SlidingWindowRidge, check_discount
from .base import BanditAgent


class LinUCBAgent(BanditAgent):
    r"""Disjoint LinUCB over ``n_arms`` arms.

    Parameters
    ----------
    n_arms : int
        Number of arms (one linear model each).
    feature_dim : int
        Width ``d`` of each arm's feature vector.
    alpha : float, default 1.0
        Exploration weight :math:`\alpha \ge 0`.
    lambda_ : float, default 1.0
        Ridge :math:`\lambda > 0` (:math:`A_a` starts at :math:`\lambda I`).
    exploration : {"ucb", "thompson"} or ExplorationRule, default "ucb"
        How (mean, width) becomes a decision (:mod:`bandits_lib.exploration`).
    seed : int or None
        Seed of the exploration rule's draws (UCB draws nothing).
    device : str or torch.device, default "cpu"

    Examples
    --------
    >>> agent = LinUCBAgent(n_arms=3, feature_dim=2, alpha=1.0)
    >>> X = torch.eye(3, 2)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.ridge.theta[arm].tolist()  # ridge: x / (lambda + |x|^2) * r
    [0.5, 0.0]
    """

    def __init__(
        self,
        n_arms: int,
        feature_dim: int,
        alpha: float = 1.0,
        lambda_: float = 1.0,
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        super().__init__(feature_dim, device)
        self.exploration, self.seed = exploration, seed
        self._use_exploration(exploration, seed)
        self.ridge = DisjointRidge(self.n_arms, self.feature_dim, self.lambda_, device=self.device)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        # The conversion to float64 and the rows' outer products are made once per feature matrix.
        dtype = self.ridge.A_inv.dtype
        X = features.as_dtype(dtype)
        squared = self.ridge.quadratic_form(X, outer=features.outer(dtype))
        return self.ridge.estimate(X), confidence_width(squared), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: None) -> None:
        self.ridge.update(arm, x, reward)


class LinTSAgent(LinUCBAgent):
    r"""Linear Thompson sampling on disjoint ridge regressions (Agrawal and Goyal, 2013).

    Each arm keeps LinUCB's :math:`A_a`, :math:`\hat\theta_a`. The paper draws
    :math:`\tilde\theta_a \sim \mathcal N(\hat\theta_a, v^2 A_a^{-1})` and scores
    :math:`x_a^\top\tilde\theta_a`. Each arm's score involves only its own
    :math:`\tilde\theta_a`, so the scores are independent with

    .. math:: x_a^\top\tilde\theta_a \sim \mathcal N\big(x_a^\top\hat\theta_a,\; v^2 x_a^\top A_a^{-1} x_a\big),

    which is what is sampled: LinUCB's mean and width with the
    :class:`~bandits_lib.exploration.ThompsonSampling` rule and :math:`\alpha = v`. The
    paper's :math:`v = R\sqrt{24 d \ln(1/\delta)/\epsilon}` is a worst-case constant;
    here ``v`` is a tuning knob, like LinUCB's :math:`\alpha`.

    Parameters
    ----------
    n_arms, feature_dim, lambda_, device
        As for :class:`LinUCBAgent`.
    v : float, default 0.5
        Scale :math:`v \ge 0` of the posterior spread (0 plays greedily).
    seed : int or None
        Seed of the Gaussian draws.

    Examples
    --------
    >>> agent = LinTSAgent(n_arms=3, feature_dim=2, v=0.5, seed=0)
    >>> mean, width = agent.score(torch.eye(3, 2))
    >>> (agent.alpha * width).tolist()  # standard deviation: v * sqrt(x^T x / lambda)
    [0.5, 0.5, 0.0]
    """

    def __init__(self, n_arms: int, feature_dim: int, v: float = 0.5, lambda_: float = 1.0,
                 seed: int | None = None, device: torch.device | str = "cpu") -> None:
        self.v = check_float("v", v, minimum=0.0)
        super().__init__(n_arms, feature_dim, alpha=self.v, lambda_=lambda_, exploration="thompson", seed=seed,
                         device=device)


class EpsilonGreedyAgent(LinUCBAgent):
    r"""Per-arm ridge regression played greedily, with a uniformly random arm w.p. :math:`\varepsilon`.

    LinUCB's regressions with the :class:`~bandits_lib.exploration.EpsilonGreedy` rule.

    Parameters
    ----------
    n_arms, feature_dim, lambda_, device
        As for :class:`LinUCBAgent`.
    epsilon : float, default 0.1
        Probability of a uniformly random arm, in [0, 1].
    seed : int or None
        Seed of the exploration coin.
    """

    def __init__(self, n_arms: int, feature_dim: int, epsilon: float = 0.1, lambda_: float = 1.0,
                 seed: int | None = None, device: torch.device | str = "cpu") -> None:
        self.epsilon = check_float("epsilon", epsilon, minimum=0.0, maximum=1.0)
        super().__init__(n_arms, feature_dim, alpha=0.0, lambda_=lambda_, exploration=EpsilonGreedy(self.epsilon),
                         seed=seed, device=device)


class DiscountedLinUCBAgent(LinUCBAgent):
    r"""D-LinUCB (Russac, Vernade and Cappé, 2019), disjoint: a discounted ridge regression per arm, one clock.

    .. math:: \hat\mu_a = x_{t,a}^\top \hat\theta_a, \qquad
              w_a = \sqrt{x_{t,a}^\top V_a^{-1}\tilde V_a V_a^{-1} x_{t,a}},

    with :math:`V_a, \tilde V_a, \hat\theta_a` of :class:`~bandits_lib.forgetting.DiscountedRidge`
    (every step discounts every arm; only the played arm receives the new point). This is
    D-LinUCB run on the block features :math:`e_a \otimes x`, whose :math:`V` is block
    diagonal. The one change from the paper: the constant :math:`\alpha` replaces the
    theoretical radius :math:`\beta_t` (as the book's LinUCB does). ``discount=1`` is
    LinUCB exactly.

    Parameters
    ----------
    n_arms, feature_dim, alpha, lambda_, exploration, seed, device
        As for :class:`LinUCBAgent`.
    discount : float, default 0.999
        :math:`\gamma \in (0, 1]`; the memory is about :math:`1/(1-\gamma)` steps.

    Examples
    --------
    >>> agent = DiscountedLinUCBAgent(n_arms=3, feature_dim=2, discount=0.9)
    >>> X = torch.eye(3, 2)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.ridge.theta[arm].tolist()  # one point: x / (lambda + |x|^2) * r, as LinUCB
    [0.5, 0.0]
    """

    def __init__(self, n_arms: int, feature_dim: int, alpha: float = 1.0, lambda_: float = 1.0,
                 discount: float = 0.999, exploration: str | ExplorationRule = "ucb", seed: int | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.discount = check_discount("discount", discount)
        super().__init__(n_arms, feature_dim, alpha=alpha, lambda_=lambda_, exploration=exploration, seed=seed,
                         device=device)
        self.ridge = DiscountedRidge(self.n_arms, self.feature_dim, self.lambda_, self.discount, device=self.device)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        estimate, squared_width = self.ridge.estimate_and_quadratic_form(features.X)
        return estimate, confidence_width(squared_width), None


class SlidingWindowLinUCBAgent(LinUCBAgent):
    r"""SW-LinUCB (Cheung, Simchi-Levi and Zhu, 2019), disjoint: LinUCB on the ``window`` most recent observations.

    Parameters
    ----------
    n_arms, feature_dim, alpha, lambda_, exploration, seed, device
        As for :class:`LinUCBAgent`.
    window : int, default 2000
        Number of most recent steps (over all arms) the regressions remember.

    Examples
    --------
    >>> agent = SlidingWindowLinUCBAgent(n_arms=1, feature_dim=1, window=1)
    >>> X = torch.ones(1, 1)
    >>> for r in (1.0, 0.0):
    ...     agent.update(agent.predict(X), X[0], r)
    >>> agent.ridge.theta.tolist()  # only the last point: 0 / (1 + 1)
    [[0.0]]
    """

    def __init__(self, n_arms: int, feature_dim: int, alpha: float = 1.0, lambda_: float = 1.0,
                 window: int = 2000, exploration: str | ExplorationRule = "ucb", seed: int | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.window = check_int("window", window, minimum=1)
        super().__init__(n_arms, feature_dim, alpha=alpha, lambda_=lambda_, exploration=exploration, seed=seed,
                         device=device)
        self.ridge = SlidingWindowRidge(self.n_arms, self.feature_dim, self.lambda_, self.window, device=self.device)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        X = features.X
        return self.ridge.estimate(X), confidence_width(self.ridge.quadratic_form(X)), None


__all__ = ["LinUCBAgent", "LinTSAgent", "EpsilonGreedyAgent", "DiscountedLinUCBAgent", "SlidingWindowLinUCBAgent"]
