r"""What a bandit problem must provide to be played: the :class:`Environment` protocol.

.. code-block:: text

    len(environment)                      -> horizon T
    environment.context(t)                -> feature matrix, shape (n_arms, feature_dim)
    environment.info(t)                   -> what else the world tells about step t (a mapping)
    environment.reward(t, arm)            -> the observed reward
    environment.expected_reward(t, arm), environment.oracle_reward(t)   (for the regret)

An environment fixes all of its randomness when it is built from a seed (which users,
which order, which click noise), so every agent played on ``make_environment(seed)``
meets the same contexts and the same noise: common random numbers. ``info(t)`` holds
per-step facts besides the features -- the pet shop's visiting ``user`` and ``persona``
-- and, in a simulation, ``expected_rewards`` (every arm's true expected reward), which
only the oracle reads.

Optionally an environment describes its steps and arms for the run table of
:func:`~bandits_lib.experiments.run_comparison`: ``step_columns()`` returns
``{column: array of shape (T,)}`` (e.g. the user of each step) and ``arm_columns()``
returns ``{column: array of shape (n_arms,)}`` (e.g. each product's category, looked up
for the arm played).

The environments of the book: :class:`~bandits_lib.envs.PetShopEnvironment` (Chapters 1-3),
:class:`~bandits_lib.envs.ClassificationBandit` and
:class:`~bandits_lib.envs.RetrievalEnvironment` (Chapter 4).

Taught in: chapters/04_3_real_data (the protocol).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Environment(Protocol):
    """What the runner needs from a bandit problem of horizon ``len(environment)``."""

    n_arms: int
    feature_dim: int

    def __len__(self) -> int: ...

    def context(self, t: int) -> torch.Tensor:
        """Feature matrix of step ``t``, shape (n_arms, feature_dim)."""
        ...

    def info(self, t: int) -> Mapping[str, Any]:
        """What else the world tells about step ``t`` (may be empty)."""
        ...

    def reward(self, t: int, arm: int) -> float:
        """Observed reward of ``arm`` at step ``t`` (the same every time it is asked)."""
        ...

    def expected_reward(self, t: int, arm: int) -> float:
        """Noise-free reward of ``arm`` at step ``t``."""
        ...

    def oracle_reward(self, t: int) -> float:
        """Best expected reward available at step ``t``."""
        ...


__all__ = ["Environment"]
