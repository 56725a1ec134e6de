"""bandits_lib: the library behind *Neural Contextual Bandits*, an executable textbook.

Every algorithm of the book lives here once; the chapters import it. The names below are
what a chapter or an experiment usually needs; the maths behind them lives in submodules
(:mod:`.confidence`, :mod:`.forgetting`, :mod:`.networks`, :mod:`.jacobian`), as do the
pieces of the playground (:mod:`.playground`, :mod:`.web`, :mod:`.widgets`) and the
slow references the tests compare with (:mod:`.reference`). CONTRIBUTING.md draws the layers.

>>> from bandits_lib import LinUCBAgent, NeuralUCBAgent, run_comparison, summarize
>>> df = run_comparison({"LinUCB": LinUCBAgent(50, 9, alpha=1.5)}, 200, seeds=[0, 1], progress=False)
>>> summarize(df)["n_seeds"].tolist()
[2]
"""

# Agents (predict / update / score) and the exploration rules that decide for them.
from .agents import (
    BanditAgent,
    DiagonalNeuralUCBAgent,
    DiscountedLinUCBAgent,
    EpsilonGreedyAgent,
    ForgettingNeuralUCBAgent,
    LastLayerNeuralUCBAgent,
    LinTSAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralTSAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    SlidingWindowLinUCBAgent,
)
from .checkpoint import CheckpointError
from .config import SMOKE, scaled

# Worlds: the pet shop of Chapters 1-3 and the environments of Chapter 4.
from .envs import (
    CATEGORIES,
    FEATURE_DIM,
    PERSONAS,
    ClassificationBandit,
    Environment,
    FeatureBuilder,
    InteractionStream,
    PetShopEnvironment,
    RetrievalEnvironment,
    SyntheticCatalogue,
    ZooplusSimulator,
    create_feature_vectors,
)

# Experiments: one loop, many runs on common random numbers, summaries.
from .experiments import (
    cumulative_regret,
    play,
    run_comparison,
    run_environment_comparison,
    run_shock_experiment,
    steps_to_recover,
    summarize,
)
from .exploration import UCB, EpsilonGreedy, ThompsonSampling
from .playground import run_sweep

# Figures and the playground.
from .plotting import plot_cumulative_regret, plot_moving_ctr, plot_ucb_components

# Chapter 1: a static recommender trained on a log.
from .recommender import FrozenRecommenderAgent, MLPRecommender, collect_log, make_frozen_recommender, train_recommender
from .web import plot_sweep
from .widgets import bonus_explorer, regret_explorer

__version__ = "0.1.0"

__all__ = [
    # agents and exploration rules
    "BanditAgent", "LinUCBAgent", "LinTSAgent", "EpsilonGreedyAgent", "DiscountedLinUCBAgent",
    "SlidingWindowLinUCBAgent", "NeuralUCBAgent", "LastLayerNeuralUCBAgent", "NeuralLinUCBAgent", "NeuralTSAgent",
    "ForgettingNeuralUCBAgent", "DiagonalNeuralUCBAgent", "RandomAgent", "OracleAgent",
    "UCB", "ThompsonSampling", "EpsilonGreedy",
    # worlds
    "Environment", "PetShopEnvironment", "ZooplusSimulator", "InteractionStream", "ClassificationBandit",
    "RetrievalEnvironment", "SyntheticCatalogue", "FeatureBuilder", "create_feature_vectors",
    "FEATURE_DIM", "PERSONAS", "CATEGORIES",
    # experiments
    "play", "run_comparison", "run_shock_experiment", "run_environment_comparison", "summarize",
    "cumulative_regret", "steps_to_recover",
    # figures and the playground
    "plot_cumulative_regret", "plot_moving_ctr", "plot_ucb_components", "regret_explorer", "bonus_explorer",
    "run_sweep", "plot_sweep",
    # Chapter 1
    "MLPRecommender", "collect_log", "train_recommender", "make_frozen_recommender", "FrozenRecommenderAgent",
    # scale switch and checkpoints
    "SMOKE", "scaled", "CheckpointError",
]
