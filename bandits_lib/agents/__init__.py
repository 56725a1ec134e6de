"""Bandit agents sharing one interface: ``predict``, ``update``, ``score`` (see :mod:`.base`).

* :mod:`.linear` -- one ridge regression per arm: LinUCB, linear Thompson sampling,
  epsilon-greedy, and the forgetting D-LinUCB and SW-LinUCB;
* :mod:`.neural` -- NeuralUCB (exact or diagonal), last-layer NeuralUCB, the
  Neural-LinUCB hybrid, NeuralTS, forgetting NeuralUCB, diagonal NeuralUCB for many arms;
* :mod:`.baselines` -- uniformly random play and the oracle.
"""

from .base import BanditAgent
from .baselines import OracleAgent, RandomAgent
from .linear import DiscountedLinUCBAgent, EpsilonGreedyAgent, LinTSAgent, LinUCBAgent, SlidingWindowLinUCBAgent
from .neural import (
    DiagonalNeuralUCBAgent,
    ForgettingNeuralUCBAgent,
    LastLayerNeuralUCBAgent,
    NeuralLinUCBAgent,
    NeuralTSAgent,
    NeuralUCBAgent,
)

__all__ = [
    "BanditAgent",
    "LinUCBAgent", "LinTSAgent", "EpsilonGreedyAgent", "DiscountedLinUCBAgent", "SlidingWindowLinUCBAgent",
    "NeuralUCBAgent", "LastLayerNeuralUCBAgent", "NeuralLinUCBAgent", "NeuralTSAgent", "ForgettingNeuralUCBAgent",
    "DiagonalNeuralUCBAgent",
    "RandomAgent", "OracleAgent",
]
