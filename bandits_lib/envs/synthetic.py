r"""The synthetic problems of the NeuralUCB paper, as an :class:`~bandits_lib.environments.Environment`.

Zhou, Li and Gu (2020, Section 7.1) compare the algorithms on ``d = 20``, ``K = 4`` with
three reward functions of a context :math:`x \in \mathbb{R}^d`:

.. math:: h_1(x) = 10\,(a^\top x)^2, \qquad h_2(x) = x^\top A^\top A x, \qquad h_3(x) = \cos(3\, a^\top x),

:math:`A \in \mathbb{R}^{d\times d}` with independent :math:`N(0, 1)` entries and :math:`a` a
random unit vector; at every round each arm's context is a fresh random unit vector and
the observed reward is :math:`h(x_{t,a}) + \xi_{t,a}` with Gaussian noise. Whether the
vectors lie *on* the unit sphere or *in* the unit ball, and the noise level, are parameters
(``contexts``, ``noise_sd``): the text of Section 7.1 could not be consulted from the
workspace this was written in (it is recalled as "uniformly from the unit ball", with a
noise level that this module does not assume), so the defaults -- the sphere and
:math:`\sigma = 0.1` -- are the setting of the side-by-side runs against the authors' code
(``/work/shared/reference/neuralucb-reference-code.md``), which the benchmark reproduces.

Everything random is drawn at construction from ``numpy.random.default_rng(seed)`` in a
fixed order (:math:`a`, then :math:`A`, then the contexts, then the noise), whatever the
reward function: for one seed, the three problems share :math:`a` and the contexts, and
every agent played on ``SyntheticBandit(..., seed=s)`` meets the same contexts and, for the
same arm at the same round, the same noise (common random numbers). The regret of a
round is the best expected reward minus the expected reward of the arm played.

Taught in: benchmarks/neuralucb_training.py.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_choice, check_float, check_int

#: Reward functions: the paper's h1, h2, h3.
FUNCTIONS = ("quadratic", "quadratic_form", "cosine")
#: Where the contexts and ``a`` are drawn: on the unit sphere, or uniformly in the unit ball.
CONTEXTS = ("sphere", "ball")


def _unit_vectors(rng: np.random.Generator, shape: tuple[int, ...], d: int, where: str) -> np.ndarray:
    """Uniform on the unit sphere (normalised Gaussians), or in the unit ball (times U^(1/d))."""
    v = rng.standard_normal((*shape, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    if where == "ball":
        v *= rng.uniform(size=(*shape, 1)) ** (1.0 / d)
    return v


class SyntheticBandit:
    r"""One of the paper's synthetic problems, all of its randomness drawn from ``seed``.

    Parameters
    ----------
    function : {"quadratic", "quadratic_form", "cosine"}
        :math:`h_1(x) = 10(a^\top x)^2`, :math:`h_2(x) = x^\top A^\top A x` or
        :math:`h_3(x) = \cos(3a^\top x)`.
    n_rounds : int, default 3000
        Horizon ``T``.
    n_arms : int, default 4
        ``K``.
    feature_dim : int, default 20
        ``d``.
    noise_sd : float, default 0.1
        Standard deviation :math:`\sigma \ge 0` of the Gaussian reward noise.
    contexts : {"sphere", "ball"}, default "sphere"
        Contexts and :math:`a` uniform on the unit sphere, or uniform in the unit ball.
    seed : int, default 0

    Attributes
    ----------
    a : numpy.ndarray, shape (d,)
    A : numpy.ndarray, shape (d, d)
    contexts_tensor : torch.Tensor, shape (T, K, d), float32
        Every round's contexts (``context(t)`` is row ``t``).
    expected : numpy.ndarray, shape (T, K), float64
        :math:`h(x_{t,a})`, computed in float64 from the float32 contexts the agents see.
    noise : numpy.ndarray, shape (T, K), float64
    oracle : numpy.ndarray, shape (T,)
        Best expected reward of each round.

    Examples
    --------
    >>> env = SyntheticBandit("cosine", n_rounds=5, seed=0)
    >>> env.context(0).shape, len(env), env.n_arms
    (torch.Size([4, 20]), 5, 4)
    >>> env.oracle_reward(0) == max(env.expected_reward(0, a) for a in range(4))
    True
    """

    def __init__(self, function: str = "cosine", n_rounds: int = 3000, n_arms: int = 4, feature_dim: int = 20,
                 noise_sd: float = 0.1, contexts: str = "sphere", seed: int = 0) -> None:
        self.function = check_choice("function", function, FUNCTIONS)
        self.n_rounds = check_int("n_rounds", n_rounds, minimum=1)
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.noise_sd = check_float("noise_sd", noise_sd, minimum=0.0)
        self.context_distribution = check_choice("contexts", contexts, CONTEXTS)
        self.seed = check_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        d = self.feature_dim
        self.a = _unit_vectors(rng, (), d, self.context_distribution)
        self.A = rng.standard_normal((d, d))
        X = _unit_vectors(rng, (self.n_rounds, self.n_arms), d, self.context_distribution)
        self.contexts_tensor = torch.from_numpy(X.astype(np.float32))
        self.noise = self.noise_sd * rng.standard_normal((self.n_rounds, self.n_arms))
        self.expected = self.h(self.contexts_tensor.numpy().astype(np.float64))
        self.rewards = self.expected + self.noise
        self.oracle = self.expected.max(axis=1)
        self._contexts = list(self.contexts_tensor.unbind(0))  # one view per round, made once

    def h(self, X: np.ndarray) -> np.ndarray:
        """Expected reward :math:`h(x)` of each row of ``X`` (shape (..., d)), shape (...)."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-1] != self.feature_dim:
            raise ValueError(f"X must have shape (..., {self.feature_dim}), got {X.shape}")
        if self.function == "quadratic":
            return 10.0 * (X @ self.a) ** 2
        if self.function == "quadratic_form":
            AX = X @ self.A.T
            return (AX * AX).sum(axis=-1)
        return np.cos(3.0 * (X @ self.a))

    def __len__(self) -> int:
        return self.n_rounds

    def _check_t(self, t: int) -> int:
        t = check_int("t", t)
        if not 0 <= t < self.n_rounds:
            raise ValueError(f"t must be in [0, {self.n_rounds}), got {t}")
        return t

    def _check_arm(self, arm: int) -> int:
        arm = check_int("arm", arm)
        if not 0 <= arm < self.n_arms:
            raise ValueError(f"arm must be in [0, {self.n_arms}), got {arm}")
        return arm

    def context(self, t: int) -> torch.Tensor:
        """Contexts of round ``t``, shape (n_arms, feature_dim), float32 (the same tensor at every call)."""
        return self._contexts[self._check_t(t)]

    def info(self, t: int) -> dict:
        """``{"expected_rewards"}``: :math:`h(x_{t,a})` of every arm, shape (n_arms,)."""
        return {"expected_rewards": self.expected[self._check_t(t)]}

    def reward(self, t: int, arm: int) -> float:
        """Observed reward :math:`h(x_{t,a}) + \\xi_{t,a}` (fixed at construction)."""
        return float(self.rewards[self._check_t(t), self._check_arm(arm)])

    def expected_reward(self, t: int, arm: int) -> float:
        """:math:`h(x_{t,a})`."""
        return float(self.expected[self._check_t(t), self._check_arm(arm)])

    def oracle_reward(self, t: int) -> float:
        """:math:`\\max_a h(x_{t,a})`."""
        return float(self.oracle[self._check_t(t)])

    def __repr__(self) -> str:
        return (f"SyntheticBandit(function={self.function!r}, n_rounds={self.n_rounds}, n_arms={self.n_arms}, "
                f"feature_dim={self.feature_dim}, noise_sd={self.noise_sd:g}, "
                f"contexts={self.context_distribution!r}, seed={self.seed})")


__all__ = ["SyntheticBandit", "FUNCTIONS", "CONTEXTS"]
