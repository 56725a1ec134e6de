"""Bandit agents sharing one interface: ``predict``, ``update``, ``ucb_components``."""

from .base import BanditAgent, UCBAgent
from .baselines import OracleAgent, RandomAgent
from .linucb import EpsilonGreedyAgent, LinUCBAgent
from .neural import LastLayerNeuralUCBAgent, NeuralLinUCBAgent, NeuralUCBAgent

__all__ = [
    "BanditAgent",
    "UCBAgent",
    "LinUCBAgent",
    "EpsilonGreedyAgent",
    "NeuralUCBAgent",
    "LastLayerNeuralUCBAgent",
    "NeuralLinUCBAgent",
    "RandomAgent",
    "OracleAgent",
]
