"""Bandit agents sharing one interface: ``predict``, ``update``, ``ucb_components``."""

from .base import BanditAgent, UCBAgent
from .baselines import OracleAgent, RandomAgent
from .linucb import EpsilonGreedyAgent, LinUCBAgent
from .neural import LastLayerNeuralUCBAgent, NeuralLinUCBAgent, NeuralUCBAgent
from .nonstationary import DiscountedLinUCBAgent, ForgettingNeuralUCBAgent, SlidingWindowLinUCBAgent
from .thompson import LinTSAgent, NeuralTSAgent, ThompsonSampling

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
    "DiscountedLinUCBAgent",
    "SlidingWindowLinUCBAgent",
    "ForgettingNeuralUCBAgent",
    "ThompsonSampling",
    "LinTSAgent",
    "NeuralTSAgent",
]
