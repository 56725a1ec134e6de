"""bandits_lib: the library behind *Neural Contextual Bandits*, an executable textbook.

Every algorithm of the book lives here once; the chapters import it.

>>> from bandits_lib import ZooplusSimulator, LinUCBAgent, NeuralUCBAgent, run_comparison
"""

from .agents import (
    BanditAgent,
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
    ThompsonSampling,
    UCBAgent,
)
from .classification import ClassificationBandit, load_digits_contexts
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint, state_digest
from .config import SMOKE, scaled
from .environments import Environment, PetShopEnvironment, play_environment, run_environment_comparison
from .exploration import DiagonalConfidence, DisjointRidge, FullConfidence, batched_quadratic_form, ucb_bonus
from .experiments import (
    cumulative_regret,
    moving_average,
    play,
    run_comparison,
    run_shock_experiment,
    seconds_per_step,
    steps_to_recover,
    summarize,
)
from .features import FEATURE_DIM, FEATURE_NAMES, FeatureBuilder, create_feature_vectors
from .forgetting import (
    DiscountedDiagonalConfidence,
    DiscountedFullConfidence,
    DiscountedRidge,
    SlidingWindowRidge,
)
from .jacobian import compute_jacobian, forward_and_jacobian, jacobian_analytic, jacobian_loop, jacobian_vmap
from .networks import NeuralBanditModel, NeuralBanditNetwork, count_parameters
from .plotting import plot_cumulative_regret, plot_moving_ctr, plot_ucb_components
from .recommender import (
    FrozenRecommenderAgent,
    MLPRecommender,
    calibration_table,
    collect_log,
    evaluate_recommender,
    make_frozen_recommender,
    split_log,
    train_recommender,
)
from .retrieval import (
    DiagonalNeuralUCBAgent,
    RetrievalEnvironment,
    SyntheticCatalogue,
    best_in_top_k,
    diagonal_quadratic_form,
    time_decisions,
)
from .simulator import (
    CATEGORIES,
    PERSONAS,
    InteractionStream,
    ZooplusSimulator,
    click_from_uniform,
)
from .sweep import AGENT_KINDS, ConfiguredAgent, SweepResult, offline_html, plot_sweep, run_sweep
from .widgets import bonus_explorer, bonus_explorer_figure, regret_explorer, regret_explorer_figure

__version__ = "0.1.0"

__all__ = [
    # Chapter 4: forgetting, Thompson sampling, environments, real data, scale
    "DiscountedLinUCBAgent", "SlidingWindowLinUCBAgent", "ForgettingNeuralUCBAgent", "ThompsonSampling",
    "LinTSAgent", "NeuralTSAgent", "DiscountedRidge", "SlidingWindowRidge", "DiscountedFullConfidence",
    "DiscountedDiagonalConfidence", "Environment", "PetShopEnvironment", "play_environment",
    "run_environment_comparison", "ClassificationBandit", "load_digits_contexts", "SyntheticCatalogue",
    "RetrievalEnvironment", "DiagonalNeuralUCBAgent", "diagonal_quadratic_form", "best_in_top_k", "time_decisions",
    "BanditAgent", "UCBAgent", "LinUCBAgent", "EpsilonGreedyAgent", "NeuralUCBAgent",
    "LastLayerNeuralUCBAgent", "NeuralLinUCBAgent", "RandomAgent", "OracleAgent",
    "SMOKE", "scaled", "CheckpointError", "save_checkpoint", "load_checkpoint", "state_digest",
    "FullConfidence", "DiagonalConfidence", "DisjointRidge", "batched_quadratic_form", "ucb_bonus",
    "run_comparison", "run_shock_experiment", "play", "cumulative_regret", "summarize", "moving_average", "steps_to_recover",
    "seconds_per_step",
    "FEATURE_DIM", "FEATURE_NAMES", "FeatureBuilder", "create_feature_vectors",
    "compute_jacobian", "forward_and_jacobian", "jacobian_analytic", "jacobian_loop", "jacobian_vmap",
    "NeuralBanditModel", "NeuralBanditNetwork", "count_parameters",
    "plot_cumulative_regret", "plot_moving_ctr", "plot_ucb_components",
    "MLPRecommender", "FrozenRecommenderAgent", "collect_log", "split_log", "train_recommender",
    "evaluate_recommender", "calibration_table", "make_frozen_recommender",
    "CATEGORIES", "PERSONAS", "InteractionStream", "ZooplusSimulator", "click_from_uniform",
    "AGENT_KINDS", "ConfiguredAgent", "SweepResult", "offline_html", "plot_sweep", "run_sweep",
    "bonus_explorer", "bonus_explorer_figure", "regret_explorer", "regret_explorer_figure",
]
