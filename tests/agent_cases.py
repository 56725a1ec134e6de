"""The one list of agents that every cross-cutting test suite is parametrised over.

Checkpoints, bad input, hostile input, determinism and CUDA each run over ``CASES``;
``test_registry_covers_every_agent`` (in tests/test_agents.py) fails when an agent class
of the library is missing here, so a new agent needs one entry, not five edits.

Each case builds a small agent for ``n_arms`` arms and ``feature_dim``-wide rows (the
pet shop's 9 by default), seeded with ``seed``, and says what per-step ``info`` the
agent reads (the oracle and the frozen recommender read the environment's info).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import bandits_lib
from bandits_lib import (
    DiagonalNeuralUCBAgent,
    DiscountedLinUCBAgent,
    EpsilonGreedyAgent,
    ForgettingNeuralUCBAgent,
    FrozenRecommenderAgent,
    LastLayerNeuralUCBAgent,
    LinTSAgent,
    LinUCBAgent,
    MLPRecommender,
    NeuralLinUCBAgent,
    NeuralTSAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    SlidingWindowLinUCBAgent,
)
from bandits_lib.exploration import EpsilonGreedy


@dataclass(frozen=True)
class AgentCase:
    """One agent configuration: ``make(n_arms, feature_dim, seed) -> agent``."""

    name: str
    make: Callable
    #: The agent reads ``info`` (what it needs is given by :func:`info_for`).
    reads_info: bool = False
    #: Works with any ``feature_dim`` (the frozen recommender reads the pet shop's 9 only).
    any_feature_dim: bool = True

    def __call__(self, n_arms: int = 50, feature_dim: int = 9, seed: int | None = 1):
        return self.make(n_arms, feature_dim, seed)


def info_for(n_arms: int, step: int = 0) -> dict:
    """The info a simulated shop passes at a step: a user and every arm's expected reward."""
    rewards = np.linspace(0.1, 0.5, n_arms)[np.random.default_rng(step).permutation(n_arms)]
    return {"user": step % 5, "persona": step % 4, "expected_rewards": rewards}


def _frozen(n_arms: int, feature_dim: int, seed: int | None):
    return FrozenRecommenderAgent(MLPRecommender(n_users=1000, n_products=n_arms, embedding_dim=3, hidden_dims=(4,),
                                                 seed=seed))


CASES: dict[str, AgentCase] = {case.name: case for case in (
    AgentCase("linucb", lambda k, d, s: LinUCBAgent(k, d, alpha=1.5, seed=s)),
    AgentCase("linucb_thompson", lambda k, d, s: LinUCBAgent(k, d, alpha=0.5, exploration="thompson", seed=s)),
    AgentCase("linucb_epsilon_rule", lambda k, d, s: LinUCBAgent(k, d, exploration=EpsilonGreedy(0.3), seed=s)),
    AgentCase("lints", lambda k, d, s: LinTSAgent(k, d, v=0.5, seed=s)),
    AgentCase("epsilon_greedy", lambda k, d, s: EpsilonGreedyAgent(k, d, epsilon=0.2, seed=s)),
    AgentCase("discounted_linucb", lambda k, d, s: DiscountedLinUCBAgent(k, d, discount=0.99, seed=s)),
    AgentCase("sliding_window_linucb", lambda k, d, s: SlidingWindowLinUCBAgent(k, d, window=40, seed=s)),
    AgentCase("neural_full_vmap", lambda k, d, s: NeuralUCBAgent(d, (8,), confidence="full", jacobian="vmap",
                                                                 lr=1e-2, seed=s)),
    AgentCase("neural_full", lambda k, d, s: NeuralUCBAgent(d, (8, 4), confidence="full", seed=s)),
    AgentCase("neural_diagonal", lambda k, d, s: NeuralUCBAgent(d, (8,), confidence="diagonal", lr=1e-2, seed=s)),
    AgentCase("neural_thompson", lambda k, d, s: NeuralUCBAgent(d, (8,), exploration="thompson", seed=s)),
    # Trained on the history (the NeuralUCB paper's way): a small buffer that grows during the runs.
    AgentCase("neural_full_history", lambda k, d, s: NeuralUCBAgent(
        d, (8, 4), confidence="full", seed=s, training="history",
        training_options={"steps": 3, "batch_size": 8, "train_every": 7, "dense_until": 10, "lr": 0.05,
                          "capacity": 4})),
    AgentCase("last_layer_history", lambda k, d, s: LastLayerNeuralUCBAgent(
        d, (8,), embedding_dim=4, seed=s, training="history",
        training_options={"steps": 2, "optimizer": "adam", "lr": 1e-2, "capacity": 8})),
    AgentCase("hybrid_history", lambda k, d, s: NeuralLinUCBAgent(
        k, d, (8,), embedding_dim=4, seed=s, training="history", training_options={"steps": 2, "capacity": 8})),
    AgentCase("last_layer", lambda k, d, s: LastLayerNeuralUCBAgent(d, (8,), embedding_dim=4, lr=1e-2, seed=s)),
    AgentCase("hybrid", lambda k, d, s: NeuralLinUCBAgent(k, d, (8,), embedding_dim=4, lr=1e-2, seed=s)),
    AgentCase("neural_ts", lambda k, d, s: NeuralTSAgent(d, (8,), nu=0.5, seed=s)),
    AgentCase("forgetting_neural", lambda k, d, s: ForgettingNeuralUCBAgent(d, (8,), discount=0.99, reset_every=70,
                                                                           seed=s)),
    AgentCase("diagonal_many_arms", lambda k, d, s: DiagonalNeuralUCBAgent(d, (8,), seed=s)),
    AgentCase("random", lambda k, d, s: RandomAgent(d, seed=s)),
    AgentCase("oracle", lambda k, d, s: OracleAgent(d), reads_info=True),
    AgentCase("frozen_recommender", _frozen, reads_info=True, any_feature_dim=False),
)}


def agent_classes_exported() -> set[type]:
    """Every concrete agent class the library exports."""
    return {value for value in vars(bandits_lib).values()
            if isinstance(value, type) and issubclass(value, bandits_lib.BanditAgent)
            and value is not bandits_lib.BanditAgent}
