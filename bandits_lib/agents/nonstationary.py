r"""Agents for a changing world: they forget.

* :class:`DiscountedLinUCBAgent` -- D-LinUCB (Russac, Vernade and Cappé, 2019) in the
  book's disjoint form: each arm's ridge regression weighs an observation ``k`` steps
  old by :math:`\gamma^k`, and the width uses :math:`V^{-1}\tilde V V^{-1}`.
* :class:`SlidingWindowLinUCBAgent` -- SW-LinUCB (Cheung, Simchi-Levi and Zhu, 2019):
  LinUCB on the last ``window`` observations only.
* :class:`ForgettingNeuralUCBAgent` -- NeuralUCB whose confidence matrix forgets,
  :math:`A \leftarrow \gamma A + g g^\top`, and/or is reset every ``reset_every`` steps.

The linear agents are the disjoint model of Chapter 2 with a different regression; the
maths lives in :mod:`bandits_lib.forgetting`.

Taught in: chapters/04_1_nonstationarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_int
from ..exploration import ucb_bonus
from ..forgetting import DISCOUNTED_CONFIDENCE_MODES, DiscountedRidge, SlidingWindowRidge, check_discount
from .linucb import LinUCBAgent
from .neural import NeuralUCBAgent


class DiscountedLinUCBAgent(LinUCBAgent):
    r"""D-LinUCB, disjoint: a discounted ridge regression per arm, one shared clock.

    .. math:: p_{t,a} = x_{t,a}^\top \hat\theta_a
              + \alpha\sqrt{x_{t,a}^\top V_a^{-1}\tilde V_a V_a^{-1} x_{t,a}},

    with :math:`V_a, \tilde V_a, \hat\theta_a` of :class:`~bandits_lib.forgetting.DiscountedRidge`
    (every step discounts every arm; only the played arm receives the new point). This is
    D-LinUCB run on the block features :math:`e_a \otimes x`, whose :math:`V` is block
    diagonal. The one change from the paper: the constant :math:`\alpha` replaces the
    theoretical radius :math:`\beta_t` (as the book's LinUCB does). ``discount=1`` is
    LinUCB exactly.

    Parameters
    ----------
    n_products, feature_dim, alpha, lambda_, seed, device
        As for :class:`~bandits_lib.agents.LinUCBAgent`.
    discount : float, default 0.999
        :math:`\gamma \in (0, 1]`; the memory is about :math:`1/(1-\gamma)` steps.

    Examples
    --------
    >>> agent = DiscountedLinUCBAgent(n_products=3, feature_dim=2, discount=0.9)
    >>> X = torch.eye(3, 2)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.ridge.theta[arm].tolist()  # one point: x / (lambda + |x|^2) * r, as LinUCB
    [0.5, 0.0]
    """

    def __init__(
        self,
        n_products: int,
        feature_dim: int,
        alpha: float = 1.0,
        lambda_: float = 1.0,
        discount: float = 0.999,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.discount = check_discount("discount", discount)
        super().__init__(n_products, feature_dim, alpha=alpha, lambda_=lambda_, seed=seed, device=device)
        self.ridge = DiscountedRidge(self.n_arms, self.feature_dim, self.lambda_, self.discount, device=self.device)

    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, None]:
        estimate, squared_width = self.ridge.estimate_and_quadratic_form(features.X)
        return estimate, ucb_bonus(squared_width, self.alpha), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: None) -> None:
        self.ridge.update(arm, x, reward)


class SlidingWindowLinUCBAgent(LinUCBAgent):
    r"""SW-LinUCB, disjoint: LinUCB on the ``window`` most recent observations.

    Parameters
    ----------
    n_products, feature_dim, alpha, lambda_, seed, device
        As for :class:`~bandits_lib.agents.LinUCBAgent`.
    window : int, default 2000
        Number of most recent steps (over all arms) the regressions remember.

    Examples
    --------
    >>> agent = SlidingWindowLinUCBAgent(n_products=1, feature_dim=1, window=1)
    >>> X = torch.ones(1, 1)
    >>> for r in (1.0, 0.0):
    ...     agent.update(agent.predict(X), X[0], r)
    >>> agent.ridge.theta.tolist()  # only the last point: 0 / (1 + 1)
    [[0.0]]
    """

    def __init__(
        self,
        n_products: int,
        feature_dim: int,
        alpha: float = 1.0,
        lambda_: float = 1.0,
        window: int = 2000,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.window = check_int("window", window, minimum=1)
        super().__init__(n_products, feature_dim, alpha=alpha, lambda_=lambda_, seed=seed, device=device)
        self.ridge = SlidingWindowRidge(self.n_arms, self.feature_dim, self.lambda_, self.window, device=self.device)

    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, None]:
        X = features.X
        return self.ridge.estimate(X), ucb_bonus(self.ridge.quadratic_form(X), self.alpha), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: None) -> None:
        self.ridge.update(arm, x, reward)


class ForgettingNeuralUCBAgent(NeuralUCBAgent):
    r"""NeuralUCB whose confidence matrix forgets.

    Everything as :class:`~bandits_lib.agents.NeuralUCBAgent` (network, gradients, Adam
    step), except the confidence matrix:

    .. math:: A_t = \gamma A_{t-1} + \nabla g_{t,a_t}\nabla g_{t,a_t}^\top, \qquad A_0 = \lambda I,

    kept exactly (``confidence="full"``: :math:`A^{-1}/\gamma` then Sherman--Morrison) or
    by its diagonal (``"diagonal"``), and, if ``reset_every`` is set, put back to
    :math:`\lambda I` after every ``reset_every`` updates. ``discount=1`` and
    ``reset_every=None`` give NeuralUCB exactly.

    Parameters
    ----------
    feature_dim, hidden_dims, lambda_, alpha, lr, confidence, jacobian, seed, device
        As for :class:`~bandits_lib.agents.NeuralUCBAgent`.
    discount : float, default 0.999
        :math:`\gamma \in (0, 1]`.
    reset_every : int or None, default None
        Reset the confidence matrix to :math:`\lambda I` after this many updates.

    Examples
    --------
    >>> agent = ForgettingNeuralUCBAgent(9, (8,), discount=0.99, reset_every=100, seed=0)
    >>> X = torch.eye(5, 9)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> type(agent.confidence).__name__, agent.t
    ('DiscountedFullConfidence', 1)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "analytic",
        discount: float = 0.999,
        reset_every: int | None = None,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.discount = check_discount("discount", discount)
        self.reset_every = None if reset_every is None else check_int("reset_every", reset_every, minimum=1)
        super().__init__(feature_dim, hidden_dims, lambda_=lambda_, alpha=alpha, lr=lr, confidence=confidence,
                         jacobian=jacobian, seed=seed, device=device)
        self.confidence = self._fresh_confidence()
        self.n_resets = 0

    def _fresh_confidence(self):
        return DISCOUNTED_CONFIDENCE_MODES[self.confidence_mode](self.p, self.lambda_, self.discount,
                                                                 device=self.device)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        super()._learn(arm, x, reward, cache)
        if self.reset_every is not None and (self.t + 1) % self.reset_every == 0:
            self.confidence = self._fresh_confidence()
            self.n_resets += 1


__all__ = ["DiscountedLinUCBAgent", "SlidingWindowLinUCBAgent", "ForgettingNeuralUCBAgent"]
