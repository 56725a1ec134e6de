"""Worlds the agents play in, all behind one :class:`Environment` protocol (see :mod:`.base`).

* :mod:`.simulator` and :mod:`.features` -- the simulated pet shop of Chapters 1-3
  (catalogue, personas, clicks, market shock; one-hot feature rows);
* :mod:`.petshop` -- the pet shop as an environment;
* :mod:`.classification` -- a labelled data set played as a bandit (Chapter 4);
* :mod:`.retrieval` -- a catalogue of 100,000 products, retrieve then re-rank (Chapter 4).
"""

from .base import Environment
from .classification import ClassificationBandit, load_digits_contexts
from .features import FEATURE_DIM, FEATURE_NAMES, FeatureBuilder, create_feature_vectors
from .petshop import PetShopEnvironment
from .retrieval import RetrievalEnvironment, SyntheticCatalogue, best_in_top_k, time_decisions
from .simulator import CATEGORIES, PERSONAS, InteractionStream, ZooplusSimulator, click_from_uniform

__all__ = [
    "Environment", "PetShopEnvironment", "ClassificationBandit", "load_digits_contexts", "RetrievalEnvironment",
    "SyntheticCatalogue", "best_in_top_k", "time_decisions", "ZooplusSimulator", "InteractionStream",
    "click_from_uniform", "CATEGORIES", "PERSONAS", "FEATURE_DIM", "FEATURE_NAMES", "FeatureBuilder",
    "create_feature_vectors",
]
