"""Reference agents: uniformly random play, and the oracle that defines regret.

Taught in: chapters/02_linucb (baselines), chapters/03_6_showdown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..features import FEATURE_DIM
from ..simulator import CATEGORIES, DEFAULT_CTR, PERSONAS, ZooplusSimulator
from .base import BanditAgent


class RandomAgent(BanditAgent):
    """Plays a uniformly random arm; learns nothing.

    Parameters
    ----------
    seed : int or None
        Seed of the arm draws (first, so that ``RandomAgent`` itself is a factory).
    feature_dim : int, default 9
    device : str or torch.device, default "cpu"
    """

    def __init__(self, seed: int | None = None, feature_dim: int = FEATURE_DIM, device: torch.device | str = "cpu") -> None:
        super().__init__(feature_dim, device)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def _decide(self, features) -> tuple[int, None]:
        return int(self.rng.integers(features.X.shape[0])), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        pass


class OracleAgent(BanditAgent):
    """Knows the simulator's true CTRs and plays the best arm for the visiting user.

    It reads the persona and category from the one-hot feature rows and looks the CTR
    up in ``simulator.personas`` *at decision time*, so it follows a market shock at
    once. Its expected reward is the oracle CTR; regret is measured against it.

    Parameters
    ----------
    simulator : ZooplusSimulator
    seed : int or None
        Unused (the oracle is deterministic).
    device : str or torch.device, default "cpu"
    """

    def __init__(self, simulator: ZooplusSimulator, seed: int | None = None, device: torch.device | str = "cpu") -> None:
        if not isinstance(simulator, ZooplusSimulator):
            raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
        super().__init__(FEATURE_DIM, device)
        self.simulator = simulator
        self.seed = seed

    def expected_rewards(self, feature_vectors: torch.Tensor) -> torch.Tensor:
        """True CTR of each row, shape (n_arms,), decoded from the one-hot features."""
        X = self._check_features(feature_vectors).X
        n_personas = len(PERSONAS)
        persona = X[:, :n_personas].argmax(dim=1).tolist()
        category = X[:, n_personas:].argmax(dim=1).tolist()
        prefs = self.simulator.personas
        return torch.tensor(
            [prefs[PERSONAS[p]].get(CATEGORIES[c], DEFAULT_CTR) for p, c in zip(persona, category)]
        )

    def _decide(self, features) -> tuple[int, None]:
        return int(torch.argmax(self.expected_rewards(features.X))), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        pass
