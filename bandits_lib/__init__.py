"""bandits_lib: the library behind *Neural Contextual Bandits*, an executable textbook.

Every algorithm of the book lives here once; the chapters import it.

>>> from bandits_lib import ZooplusSimulator, LinUCBAgent, NeuralUCBAgent, run_comparison
"""

from .agents import (
    BanditAgent,
    EpsilonGreedyAgent,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    UCBAgent,
)
from .config import SMOKE, scaled
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
from .jacobian import compute_jacobian, forward_and_jacobian, jacobian_analytic, jacobian_loop, jacobian_vmap
from .networks import NeuralBanditModel, NeuralBanditNetwork, count_parameters
from .plotting import plot_cumulative_regret, plot_moving_ctr, plot_ucb_components
from .simulator import (
    CATEGORIES,
    PERSONAS,
    InteractionStream,
    ZooplusSimulator,
    click_from_uniform,
)

__version__ = "0.1.0"

__all__ = [
    "BanditAgent", "UCBAgent", "LinUCBAgent", "EpsilonGreedyAgent", "NeuralUCBAgent",
    "LastLayerNeuralUCBAgent", "NeuralLinUCBAgent", "RandomAgent", "OracleAgent",
    "SMOKE", "scaled",
    "FullConfidence", "DiagonalConfidence", "DisjointRidge", "batched_quadratic_form", "ucb_bonus",
    "run_comparison", "run_shock_experiment", "play", "cumulative_regret", "summarize", "moving_average", "steps_to_recover",
    "seconds_per_step",
    "FEATURE_DIM", "FEATURE_NAMES", "FeatureBuilder", "create_feature_vectors",
    "compute_jacobian", "forward_and_jacobian", "jacobian_analytic", "jacobian_loop", "jacobian_vmap",
    "NeuralBanditModel", "NeuralBanditNetwork", "count_parameters",
    "plot_cumulative_regret", "plot_moving_ctr", "plot_ucb_components",
    "CATEGORIES", "PERSONAS", "InteractionStream", "ZooplusSimulator", "click_from_uniform",
]
