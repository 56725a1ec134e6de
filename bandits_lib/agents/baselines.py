"""Reference agents: uniformly random play, and the oracle that defines regret.

Taught in: chapters/02_linucb (baselines), chapters/03_6_showdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .base import BanditAgent


class RandomAgent(BanditAgent):
    """Plays a uniformly random arm; learns nothing.

    Parameters
    ----------
    feature_dim : int
        Width of the feature rows it is shown (checked, not used).
    seed : int or None
        Seed of the arm draws.
    device : str or torch.device, default "cpu"

    Examples
    --------
    >>> agent = RandomAgent(feature_dim=2, seed=0)
    >>> agent.predict(torch.zeros(4, 2)) in range(4)
    True
    """

    def __init__(self, feature_dim: int, seed: int | None = None, device: torch.device | str = "cpu") -> None:
        super().__init__(feature_dim, device)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def _decide(self, features, info: Mapping[str, Any]) -> tuple[int, None]:
        return int(self.rng.integers(features.X.shape[0])), None

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        zeros = torch.zeros(features.X.shape[0], dtype=torch.float64)
        return zeros, zeros.clone(), None  # no estimate, no width: every arm alike

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        pass


class OracleAgent(BanditAgent):
    """Plays the arm of highest true expected reward, which the environment tells it.

    It reads ``info["expected_rewards"]`` (shape (n_arms,)), which a simulated
    environment such as :class:`~bandits_lib.envs.PetShopEnvironment` passes with every
    step, so it follows a market shock at once. Its expected reward is the oracle's;
    regret is measured against it. No real shop could run it.

    Parameters
    ----------
    feature_dim : int
        Width of the feature rows it is shown (checked, not used).
    device : str or torch.device, default "cpu"

    Examples
    --------
    >>> OracleAgent(2).predict(torch.zeros(3, 2), {"expected_rewards": [0.1, 0.5, 0.2]})
    1
    """

    def __init__(self, feature_dim: int, device: torch.device | str = "cpu") -> None:
        super().__init__(feature_dim, device)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        if "expected_rewards" not in info:
            raise ValueError("OracleAgent needs info['expected_rewards'] (the true expected reward of every arm): "
                             "play it through a simulated environment that provides it, e.g. PetShopEnvironment")
        values = info["expected_rewards"]
        try:
            mean = torch.as_tensor(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise TypeError(f"info['expected_rewards'] must be numbers, one per arm, got {values!r:.60}") from err
        if mean.shape != (features.X.shape[0],) or not bool(torch.isfinite(mean).all()):
            raise ValueError(f"info['expected_rewards'] must hold one finite number per arm ({features.X.shape[0]}), "
                             f"got shape {tuple(mean.shape)}")
        return mean, torch.zeros_like(mean), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        pass
