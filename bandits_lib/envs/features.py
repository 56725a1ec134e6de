"""Feature vectors: one row per product, persona one-hot then category one-hot.

``create_feature_vectors`` is the readable pandas version (the one the chapter shows);
``FeatureBuilder`` is the fast path used in experiments: the 4 possible matrices are
built once per catalogue and looked up by persona, instead of rebuilding pandas frames
at every step. Both return the same float32 tensor (tested).

The draft carried two inconsistent encodings: one listed a fifth persona
``'senior_dog_owner'`` that no user ever has (a dead, always-zero column that makes the
input 10-dimensional), another dropped ``'budget_shopper'`` (so a quarter of the users
got an all-zero persona block). The book uses the simulator's four personas: 9 columns.

Taught in: chapters/03_1_beyond_linear (features), chapters/02_linucb.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .simulator import CATEGORIES, PERSONAS

#: Column names of a feature vector, in order.
FEATURE_NAMES: tuple[str, ...] = tuple(f"persona={p}" for p in PERSONAS) + tuple(
    f"category={c}" for c in CATEGORIES
)
#: Width of a feature vector: 4 personas + 5 categories.
FEATURE_DIM: int = len(FEATURE_NAMES)


def _check_persona(user_persona: object) -> str:
    if user_persona not in PERSONAS:
        raise ValueError(f"user_persona must be one of {PERSONAS}, got {user_persona!r}")
    return str(user_persona)


def _check_products(products_df: object) -> pd.DataFrame:
    if not isinstance(products_df, pd.DataFrame) or "category" not in products_df:
        raise TypeError("products_df must be a pandas DataFrame with a 'category' column")
    if len(products_df) == 0:
        raise ValueError("products_df must contain at least one product, got an empty catalogue")
    unknown = sorted(set(products_df["category"]) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"products_df has unknown categories {unknown}; expected a subset of {CATEGORIES}")
    return products_df


def create_feature_vectors(user_persona: str, products_df: pd.DataFrame) -> torch.Tensor:
    """Feature matrix of one user (by persona) against every product.

    Parameters
    ----------
    user_persona : str
        One of ``PERSONAS``.
    products_df : pandas.DataFrame
        Catalogue with a ``category`` column (one row per product).

    Returns
    -------
    torch.Tensor, shape (n_products, 9), float32
        Row ``a`` is ``[persona one-hot (4) | category one-hot of product a (5)]``.

    Examples
    --------
    >>> from bandits_lib import ZooplusSimulator
    >>> X = create_feature_vectors("fish_hobbyist", ZooplusSimulator().products)
    >>> X.shape, X.sum(1).unique().tolist()
    (torch.Size([50, 9]), [2.0])
    """
    user_persona = _check_persona(user_persona)
    products_df = _check_products(products_df)
    persona_block = pd.get_dummies(pd.Series([user_persona])).reindex(columns=list(PERSONAS), fill_value=0)
    category_block = pd.get_dummies(products_df["category"]).reindex(columns=list(CATEGORIES), fill_value=0)
    user_part = np.repeat(persona_block.to_numpy(dtype=np.float32), len(products_df), axis=0)
    features = np.concatenate([user_part, category_block.to_numpy(dtype=np.float32)], axis=1)
    return torch.from_numpy(features)


class FeatureBuilder:
    """Cached feature matrices of a catalogue, one per persona.

    Parameters
    ----------
    products_df : pandas.DataFrame
        Catalogue with a ``category`` column.
    device : str or torch.device, default "cpu"
        Where the cached tensors live.

    Examples
    --------
    >>> from bandits_lib import ZooplusSimulator
    >>> sim = ZooplusSimulator()
    >>> build = FeatureBuilder(sim.products)
    >>> torch.equal(build("cat_connoisseur"), create_feature_vectors("cat_connoisseur", sim.products))
    True
    """

    def __init__(self, products_df: pd.DataFrame, device: str | torch.device = "cpu") -> None:
        products_df = _check_products(products_df)
        category = np.array([CATEGORIES.index(c) for c in products_df["category"]])
        n = len(category)
        matrices = torch.zeros(len(PERSONAS), n, FEATURE_DIM)
        matrices[:, torch.arange(n), len(PERSONAS) + torch.from_numpy(category)] = 1.0
        for i in range(len(PERSONAS)):
            matrices[i, :, i] = 1.0
        #: All matrices, shape (n_personas, n_products, 9); ``by_index[i]`` is persona ``PERSONAS[i]``.
        self.by_index = matrices.to(device)

    def __call__(self, user_persona: str) -> torch.Tensor:
        """Feature matrix of ``user_persona``, shape (n_products, 9). Do not modify it."""
        return self.by_index[PERSONAS.index(_check_persona(user_persona))]
