r"""Exploration rules: how an agent turns what it believes into a decision.

Every agent of the book scores each arm with two numbers (``agent.score``): an
estimated mean reward :math:`\hat\mu_a` and a confidence width :math:`w_a` (for LinUCB
:math:`w_a = \sqrt{x_a^\top A_a^{-1} x_a}`, for NeuralUCB the same form on the
gradient). A rule decides from them, with the agent's exploration weight
:math:`\alpha`:

* :class:`UCB` -- optimism: :math:`a_t = \argmax_a \hat\mu_a + \alpha w_a`;
* :class:`ThompsonSampling` -- a draw: :math:`a_t = \argmax_a \hat\mu_a + \alpha w_a z_a`,
  :math:`z_a \sim \mathcal N(0, 1)` independently;
* :class:`EpsilonGreedy` -- :math:`\argmax_a \hat\mu_a`, except with probability
  :math:`\varepsilon` a uniformly random arm.

The learner is the same whichever rule decides: swapping ``exploration="ucb"`` for
``exploration="thompson"`` turns LinUCB into linear Thompson sampling. (The design of
Pearl's policy learners, whose exploration module is injected the same way.)

Examples
--------
>>> mean, width = torch.tensor([0.5, 0.4]), torch.tensor([0.0, 0.2])
>>> UCB().choose(mean, width, alpha=1.0, rng=None)   # 0.5 against 0.4 + 0.2
1
>>> UCB().choose(mean, width, alpha=0.0, rng=None)   # greedy
0

Taught in: chapters/02_linucb (UCB), chapters/04_2_thompson (Thompson sampling).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._validation import check_float, check_int
from .params import Configurable

#: Largest bonus :func:`ucb_bonus` returns: scores are compared in float32 by the neural agents.
MAX_BONUS = float(torch.finfo(torch.float32).max)


def ucb_bonus(width: torch.Tensor, alpha: float, dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""The exploration bonus :math:`\alpha w`, shape of ``width``, converted to ``dtype`` if given.

    Raises ``ValueError`` when a bonus is NaN or beyond float32 range (``MAX_BONUS``):
    a huge ``alpha`` or a tiny ``lambda_`` would otherwise turn every score into inf
    and the argmax into "the first arm".

    Examples
    --------
    >>> ucb_bonus(torch.tensor([0.0, 2.0]), 1.5).tolist()
    [0.0, 3.0]
    """
    bonus = width * alpha
    if bonus.numel() and not bonus.max().item() <= MAX_BONUS:  # NaN fails the comparison too
        raise ValueError(
            f"the exploration bonus alpha * width is not finite in float32 (alpha={alpha:g}, largest width "
            f"{float(width.max()):.3g}): use a smaller alpha or a larger lambda_"
        )
    return bonus if dtype is None or bonus.dtype == dtype else bonus.to(dtype)


class ExplorationRule(Configurable):
    """How an agent turns each arm's (mean, width) into a decision (see the module docstring).

    A rule holds no learned state; randomness lives in the generator the agent keeps,
    made once by :meth:`generator` from the agent's seed.
    """

    #: Whether deciding among the distinct feature rows (each scored once) picks the
    #: same arm as deciding among all arms: true for a deterministic argmax.
    rows_suffice: bool = False

    def generator(self, seed: int | None) -> Any:
        """The random state an agent keeps for this rule (``None``: the rule draws nothing)."""
        return None

    def choose(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: Any) -> int:
        """The arm played, given ``mean`` and ``width`` of shape (n_arms,)."""
        raise NotImplementedError


class UCB(ExplorationRule):
    r"""Optimism in the face of uncertainty: play :math:`\argmax_a \hat\mu_a + \alpha w_a` (first maximum on ties)."""

    rows_suffice = True

    def choose(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: Any) -> int:
        return int(torch.argmax(mean + ucb_bonus(width, alpha, mean.dtype)))


class ThompsonSampling(ExplorationRule):
    r"""Play the arm whose sampled reward is largest: :math:`\tilde r_a = \hat\mu_a + \alpha w_a z_a`.

    The :math:`z_a` are independent standard normal draws (float64) from the agent's
    ``torch.Generator``, seeded from the agent's seed through a separate stream
    (``numpy.random.SeedSequence([seed, 7])``), so the draws never share numbers with
    the network's initialisation.
    """

    def generator(self, seed: int | None) -> torch.Generator:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(np.random.SeedSequence([check_int("seed", seed, minimum=0), 7]).generate_state(1)[0]))
        return generator

    def sample(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: torch.Generator,
               n_samples: int = 1) -> torch.Tensor:
        """``n_samples`` independent draws of every arm's score, float64, shape (n_samples, n_arms)."""
        n = check_int("n_samples", n_samples, minimum=1)
        std = ucb_bonus(width, alpha, mean.dtype)
        z = torch.randn(n, mean.shape[0], generator=rng, dtype=torch.float64)
        return mean.to(torch.float64) + std.to(torch.float64) * z.to(mean.device)

    def choose(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: torch.Generator) -> int:
        return int(torch.argmax(self.sample(mean, width, alpha, rng)[0]))


class EpsilonGreedy(ExplorationRule):
    r"""Play :math:`\argmax_a \hat\mu_a`, except with probability :math:`\varepsilon` a uniformly random arm.

    Parameters
    ----------
    epsilon : float, default 0.1
        Probability of a random arm, in [0, 1]. The width is not used.
    """

    def __init__(self, epsilon: float = 0.1) -> None:
        self.epsilon = check_float("epsilon", epsilon, minimum=0.0, maximum=1.0)

    def generator(self, seed: int | None) -> np.random.Generator:
        return np.random.default_rng(seed)

    def choose(self, mean: torch.Tensor, width: torch.Tensor, alpha: float, rng: np.random.Generator) -> int:
        if rng.random() < self.epsilon:
            return int(rng.integers(mean.shape[0]))
        return int(torch.argmax(mean))


#: The rules an agent accepts by name.
RULES: dict[str, type[ExplorationRule]] = {"ucb": UCB, "thompson": ThompsonSampling}


def make_rule(name: str, value: object) -> ExplorationRule:
    """``value`` as a rule: an :class:`ExplorationRule` as is, or one of the names in :data:`RULES`."""
    if isinstance(value, ExplorationRule):
        return value
    if isinstance(value, str) and value in RULES:
        return RULES[value]()
    raise ValueError(f"{name} must be one of {tuple(RULES)} or an ExplorationRule such as EpsilonGreedy(0.1), "
                     f"got {value!r}")


__all__ = ["ExplorationRule", "UCB", "ThompsonSampling", "EpsilonGreedy", "RULES", "make_rule", "ucb_bonus",
           "MAX_BONUS"]
