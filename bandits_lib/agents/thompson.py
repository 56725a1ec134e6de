r"""Thompson sampling: play the arm whose *sampled* reward is largest.

Where a UCB agent scores an arm by mean + bonus, a Thompson agent draws one plausible
reward per arm from a Gaussian centred on the estimate and plays the argmax:

.. math:: \tilde r_{t,a} = \hat\mu_{t,a} + \sigma_{t,a} z_{t,a}, \qquad z_{t,a} \sim \mathcal N(0, 1)
          \text{ independently}, \qquad a_t = \argmax_a \tilde r_{t,a}.

The mean and the width come from the same machinery as the UCB agents, so the two
families differ only in how they turn (mean, width) into a decision.

* :class:`LinTSAgent` -- linear Thompson sampling (Agrawal and Goyal, 2013) on the
  book's disjoint ridge regressions: :math:`\tilde\theta_a \sim \mathcal N(\hat\theta_a, v^2 A_a^{-1})`.
* :class:`NeuralTSAgent` -- NeuralTS (Zhang, Zhou, Li and Gu, 2021):
  :math:`\tilde r_{t,a} \sim \mathcal N(g(x_{t,a};\theta), \nu^2\sigma^2_{t,a})` with
  :math:`\sigma^2_{t,a} = \lambda\, \nabla g^\top U^{-1} \nabla g / m`.

Every draw comes from the agent's own ``torch.Generator`` (seeded); nothing touches
global random state.

Taught in: chapters/04_2_thompson.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._validation import check_float, check_int
from .linucb import LinUCBAgent
from .neural import NeuralUCBAgent


def _sampling_generator(seed: int | None) -> torch.Generator:
    """A CPU generator for the Gaussian draws, independent of the network's initialisation stream."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(np.random.SeedSequence([check_int("seed", seed, minimum=0), 7]).generate_state(1)[0]))
    return generator


class ThompsonSampling:
    r"""Mixin turning an agent's (mean, width) into a Thompson decision.

    The class it is mixed into provides ``_components(features) -> (mean, std, cache)``
    (for a UCB agent: exploitation and bonus); this mixin replaces the decision by
    :math:`\argmax_a (\text{mean}_a + \text{std}_a z_a)` with fresh standard normal
    :math:`z_a` from ``self.generator``. For a Thompson agent ``ucb_components`` returns
    the same pair as :meth:`score_distribution`: the mean and standard deviation of each
    arm's sampled score.
    """

    generator: torch.Generator

    def score_distribution(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of each arm's sampled score, without changing the agent.

        Returns
        -------
        mean, std : torch.Tensor, each shape (n_arms,)
        """
        mean, std, _ = self._components(self._check_features(feature_vectors))
        return mean.detach().clone(), std.detach().clone()

    def sample_scores(self, feature_vectors: torch.Tensor, n_samples: int | None = None) -> torch.Tensor:
        """Draws of every arm's score (advances the generator, learns nothing).

        Parameters
        ----------
        feature_vectors : torch.Tensor, shape (n_arms, feature_dim)
        n_samples : int, optional
            Number of independent draws; ``None`` for one.

        Returns
        -------
        torch.Tensor, float64, shape (n_arms,), or (n_samples, n_arms) if ``n_samples`` is given.
            Independent draws from the agent's generator (drawn in one batch, so not the same
            numbers as ``n_samples`` successive calls, but the same law).
        """
        n = 1 if n_samples is None else check_int("n_samples", n_samples, minimum=1)
        mean, std, _ = self._components(self._check_features(feature_vectors))
        draws = self._draw(mean, std, n)
        return draws[0] if n_samples is None else draws

    def _draw(self, mean: torch.Tensor, std: torch.Tensor, n: int = 1) -> torch.Tensor:
        """``n`` rows of ``mean + std * z`` with ``z`` standard normal from ``self.generator``, shape (n, n_arms)."""
        z = torch.randn(n, mean.shape[0], generator=self.generator, dtype=torch.float64)
        return mean.to(torch.float64) + std.to(torch.float64) * z.to(mean.device)

    def _decide(self, features) -> tuple[int, Any]:
        mean, std, cache = self._components(features)
        return int(torch.argmax(self._draw(mean, std)[0])), cache


class LinTSAgent(ThompsonSampling, LinUCBAgent):
    r"""Linear Thompson sampling on disjoint ridge regressions (Agrawal and Goyal, 2013).

    Each arm keeps LinUCB's :math:`A_a = \lambda I + \sum x x^\top`, :math:`\hat\theta_a = A_a^{-1} b_a`.
    The paper draws :math:`\tilde\theta_a \sim \mathcal N(\hat\theta_a, v^2 A_a^{-1})` and scores
    :math:`x_a^\top\tilde\theta_a`. Each arm's score involves only its own
    :math:`\tilde\theta_a`, so the scores are independent with

    .. math:: x_a^\top\tilde\theta_a \sim \mathcal N\big(x_a^\top\hat\theta_a,\; v^2 x_a^\top A_a^{-1} x_a\big),

    which is what is sampled (same law, no ``d x d`` Cholesky factor per arm and step).
    The paper's :math:`v = R\sqrt{24 d \ln(1/\delta)/\epsilon}` is a worst-case constant;
    here ``v`` is a tuning knob, like LinUCB's :math:`\alpha`.

    Parameters
    ----------
    n_products, feature_dim, lambda_, device
        As for :class:`~bandits_lib.agents.LinUCBAgent`.
    v : float, default 0.5
        Scale :math:`v \ge 0` of the posterior spread (0 plays greedily).
    seed : int or None
        Seed of the Gaussian draws.

    Examples
    --------
    >>> agent = LinTSAgent(n_products=3, feature_dim=2, v=0.5, seed=0)
    >>> X = torch.eye(3, 2)
    >>> mean, std = agent.score_distribution(X)
    >>> std.tolist()  # v * sqrt(x^T x / lambda)
    [0.5, 0.5, 0.0]
    """

    def __init__(
        self,
        n_products: int,
        feature_dim: int,
        v: float = 0.5,
        lambda_: float = 1.0,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.v = check_float("v", v, minimum=0.0)
        super().__init__(n_products, feature_dim, alpha=self.v, lambda_=lambda_, seed=seed, device=device)
        self.generator = _sampling_generator(None if seed is None else check_int("seed", seed, minimum=0))

    def __repr__(self) -> str:
        return f"LinTSAgent(n_arms={self.n_arms!r}, feature_dim={self.feature_dim!r}, v={self.v!r}, lambda_={self.lambda_!r})"


class NeuralTSAgent(ThompsonSampling, NeuralUCBAgent):
    r"""NeuralTS (Zhang, Zhou, Li and Gu, 2021) with the NeuralUCB machinery of Chapter 3.

    For every arm ``a`` (independently):

    .. math:: \tilde r_{t,a} \sim \mathcal N\big(g(x_{t,a};\theta_{t-1}),\; \nu^2\sigma^2_{t,a}\big),
              \qquad \sigma^2_{t,a} = \frac{\lambda\, \nabla g_{t,a}^\top U_{t-1}^{-1}\nabla g_{t,a}}{m},
              \qquad U_t = U_{t-1} + \frac{\nabla g_{t,a_t}\nabla g_{t,a_t}^\top}{m},\; U_0 = \lambda I,

    the paper's form (Algorithm 1), ``m`` being the network width in its analysis. Since
    :math:`U = (m\lambda I + \sum \nabla g\nabla g^\top)/m`, the standard deviation is
    :math:`\nu\sqrt\lambda\,\sqrt{\nabla g^\top A^{-1}\nabla g}` with NeuralUCB's
    :math:`A = m\lambda I + \sum \nabla g \nabla g^\top`: the agent *is* a NeuralUCB
    with ridge :math:`m\lambda` and :math:`\alpha = \nu\sqrt\lambda`, sampling instead of
    adding the bonus. Two simplifications, the same as the book's NeuralUCB: one Adam step
    on the played arm's squared error per round (the paper runs gradient descent on the
    whole history), and :math:`U` is updated with the gradient at decision time
    :math:`\theta_{t-1}` (the paper writes :math:`\theta_t`; the authors' code does the same
    as here).

    Parameters
    ----------
    feature_dim, hidden_dims, lr, confidence, jacobian, device
        As for :class:`~bandits_lib.agents.NeuralUCBAgent` (``confidence`` "full" keeps
        :math:`U^{-1}` exactly, "diagonal" keeps :math:`\operatorname{diag}(U)`).
    lambda_ : float, default 1.0
        :math:`\lambda > 0`.
    nu : float, default 0.1
        Exploration scale :math:`\nu \ge 0`.
    width : float, default 1.0
        The :math:`m` of the formula (> 0). The default 1 is what the authors' code uses.
    seed : int or None
        Seed of the network initialisation and (through a separate stream) of the draws.

    Attributes
    ----------
    alpha : float
        :math:`\nu\sqrt\lambda`, the factor applied to :math:`\sqrt{\nabla g^\top A^{-1}\nabla g}`.
    confidence : FullConfidence or DiagonalConfidence
        Over :math:`A = m\lambda I + \sum\nabla g\nabla g^\top` (so ``confidence.lambda_`` is :math:`m\lambda`).

    Examples
    --------
    >>> agent = NeuralTSAgent(9, (8,), nu=0.5, seed=0)
    >>> X = torch.eye(5, 9)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> mean, std = agent.score_distribution(X)
    >>> tuple(mean.shape), bool((std > 0).all())
    ((5,), True)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        nu: float = 0.1,
        width: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "analytic",
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.nu = check_float("nu", nu, minimum=0.0)
        self.width = check_float("width", width, strictly_positive=True)
        super().__init__(feature_dim, hidden_dims, lambda_=self.width * lambda_, alpha=self.nu * math.sqrt(lambda_),
                         lr=lr, confidence=confidence, jacobian=jacobian, seed=seed, device=device)
        self.lambda_ = lambda_  # the paper's lambda; the confidence matrix holds m * lambda
        self.generator = _sampling_generator(self.seed)

    def __repr__(self) -> str:
        return (f"NeuralTSAgent(feature_dim={self.feature_dim!r}, hidden_dims={self.hidden_dims!r}, "
                f"lambda_={self.lambda_!r}, nu={self.nu!r}, width={self.width!r}, lr={self.lr!r}, "
                f"confidence={self.confidence_mode!r})")


__all__ = ["ThompsonSampling", "LinTSAgent", "NeuralTSAgent"]
