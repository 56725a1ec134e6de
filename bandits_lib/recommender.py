r"""Chapter 1: recommendation as supervised learning on a static log.

The pieces, in the order the chapter uses them:

* :func:`collect_log` -- interactions of the shop's users with products shown by a
  *logging policy* (uniformly random by default), with the clicks the simulator draws;
* :func:`split_log` -- a random train / test split of such a log;
* :class:`MLPRecommender` -- user and product embeddings fed to an MLP that outputs
  the click probability :math:`\hat p(u, i) = \sigma\big(f([e_u; v_i])\big)`;
* :func:`train_recommender` -- mini-batch Adam on the binary cross-entropy, in epochs,
  with early stopping on a validation part of the training log;
* :func:`evaluate_recommender` and :func:`calibration_table` -- offline evaluation
  (log-loss, AUC, calibration against the simulator's true CTRs);
* :class:`FrozenRecommenderAgent` and :func:`make_frozen_recommender` -- the trained
  model deployed, frozen, as a bandit agent that plays the product of highest
  predicted CTR for the visiting user.

Taught in: chapters/01_static_recommender.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ._validation import check_float, check_hidden_dims, check_int
from .agents.base import BanditAgent
from .envs.features import FEATURE_DIM
from .envs.simulator import CATEGORIES, PERSONAS, ZooplusSimulator
from .networks import make_mlp, seeded_generator
from .params import Configurable

#: Columns of a log returned by :func:`collect_log`.
LOG_COLUMNS: tuple[str, ...] = ("user_id", "product_id", "persona", "category", "true_ctr", "click")

# Salt mixed into the log's seed, so that a log drawn with seed s never replays the
# random stream of ZooplusSimulator(seed=s) (which is np.random.default_rng(s)).
_LOG_SALT = 0x10C


# ---------------------------------------------------------------------------- logging
def collect_log(
    simulator: ZooplusSimulator,
    n_interactions: int,
    seed: int = 0,
    product_probabilities: np.ndarray | None = None,
) -> pd.DataFrame:
    r"""Log ``n_interactions`` impressions of the shop under a logging policy.

    At each logged step a user :math:`u` is drawn uniformly from the population, the
    logging policy shows a product :math:`i \sim \pi(\cdot \mid u)`, and the click is
    drawn from the simulator's true click-through rate,
    :math:`c \sim \mathrm{Bernoulli}(\mathrm{CTR}(u, i))`.

    The log has its own generator, seeded with ``(seed, salt)``; it reads the
    simulator's catalogue, personas and CTRs but never draws from ``simulator.rng``,
    so logging does not disturb later runs in the same world.

    Parameters
    ----------
    simulator : ZooplusSimulator
        The world: catalogue, users' personas and true CTRs (a market shock, if one
        happened, is reflected).
    n_interactions : int
        Number of logged impressions (>= 1).
    seed : int, default 0
        Seed of the log's generator.
    product_probabilities : numpy.ndarray, optional
        The logging policy :math:`\pi`. ``None`` (default) is the uniformly random
        policy, :math:`\pi(i \mid u) = 1 / n_\text{products}`. An array of shape
        (n_products,) is one distribution for every user; shape
        (n_personas, n_products) gives one distribution per persona (row ``k`` for
        ``PERSONAS[k]``). Rows must be non-negative and sum to 1.

    Returns
    -------
    pandas.DataFrame, n_interactions rows
        Columns ``user_id`` (int64), ``product_id`` (int64), ``persona`` and
        ``category`` (str), ``true_ctr`` (float64, what the simulator knows and a
        real shop would not) and ``click`` (int8, 0 or 1).

    Examples
    --------
    >>> log = collect_log(ZooplusSimulator(seed=0), 1_000, seed=1)
    >>> list(log.columns), len(log)
    (['user_id', 'product_id', 'persona', 'category', 'true_ctr', 'click'], 1000)
    """
    if not isinstance(simulator, ZooplusSimulator):
        raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
    n = check_int("n_interactions", n_interactions, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    policy = _check_policy(product_probabilities, simulator.n_products)
    rng = np.random.default_rng([seed, _LOG_SALT])
    users = rng.integers(0, simulator.n_users, size=n)
    personas = simulator.persona_index(users)
    if policy is None:
        products = rng.integers(0, simulator.n_products, size=n)
    else:
        # Inverse-CDF sampling, one uniform per step, row chosen by the user's persona.
        cdf = np.cumsum(policy, axis=1)
        cdf[:, -1] = 1.0
        rows = cdf[personas] if len(policy) > 1 else np.broadcast_to(cdf[0], (n, cdf.shape[1]))
        uniforms = rng.random(n)
        # Product i is drawn iff cdf[i-1] <= u < cdf[i]: never when its probability is 0.
        products = np.minimum((rows <= uniforms[:, None]).sum(axis=1), simulator.n_products - 1)
    true_ctr = simulator.ctr_matrix()[personas, products]
    clicks = (rng.random(n) < true_ctr).astype(np.int8)
    category = simulator.category_index[products]
    return pd.DataFrame({
        "user_id": users.astype(np.int64),
        "product_id": products.astype(np.int64),
        "persona": np.asarray(PERSONAS)[personas],
        "category": np.asarray(CATEGORIES)[category],
        "true_ctr": true_ctr.astype(np.float64),
        "click": clicks,
    })


def _check_policy(product_probabilities: object, n_products: int) -> np.ndarray | None:
    if product_probabilities is None:
        return None
    if isinstance(product_probabilities, torch.Tensor):
        product_probabilities = product_probabilities.detach().cpu().numpy()
    if not isinstance(product_probabilities, np.ndarray) or not np.issubdtype(product_probabilities.dtype, np.number):
        raise TypeError("product_probabilities must be a numeric numpy array of shape (n_products,) "
                        f"or (n_personas, n_products), got {type(product_probabilities).__name__}")
    policy = np.asarray(product_probabilities, dtype=np.float64)
    if policy.ndim == 1:
        policy = policy[None, :]
    if policy.ndim != 2 or policy.shape[1] != n_products or policy.shape[0] not in (1, len(PERSONAS)):
        raise ValueError(f"product_probabilities must have shape ({n_products},) or ({len(PERSONAS)}, {n_products}), "
                         f"got {tuple(np.shape(product_probabilities))}")
    if not np.isfinite(policy).all() or (policy < 0).any():
        raise ValueError("product_probabilities must be finite and non-negative")
    if not np.allclose(policy.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError(f"each row of product_probabilities must sum to 1, got sums {policy.sum(axis=1).tolist()}")
    return policy


def split_log(log: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random train / test split of a log (rows shuffled with ``seed``).

    Parameters
    ----------
    log : pandas.DataFrame
        A log as :func:`collect_log` returns.
    test_fraction : float, default 0.2
        Share of the rows held out, in (0, 1); both parts keep at least one row.
    seed : int, default 0

    Returns
    -------
    train, test : pandas.DataFrame
        Disjoint, together all rows of ``log``; the index is reset.
    """
    _check_log_frame(log)
    test_fraction = check_float("test_fraction", test_fraction, strictly_positive=True, maximum=1.0)
    if test_fraction >= 1.0:
        raise ValueError(f"test_fraction must be < 1, got {test_fraction}")
    seed = check_int("seed", seed, minimum=0)
    if len(log) < 2:
        raise ValueError(f"log must have at least 2 rows to be split, got {len(log)}")
    n_test = min(max(int(round(test_fraction * len(log))), 1), len(log) - 1)
    order = np.random.default_rng(seed).permutation(len(log))
    test = log.iloc[np.sort(order[:n_test])].reset_index(drop=True)
    train = log.iloc[np.sort(order[n_test:])].reset_index(drop=True)
    return train, test


def _check_log_frame(log: object) -> pd.DataFrame:
    if not isinstance(log, pd.DataFrame):
        raise TypeError("log must be a pandas DataFrame with columns user_id, product_id, click; "
                        f"got {type(log).__name__}")
    missing = [c for c in ("user_id", "product_id", "click") if c not in log.columns]
    if missing:
        raise ValueError(f"log is missing the columns {missing}; expected at least user_id, product_id, click")
    if len(log) == 0:
        raise ValueError("log must contain at least one interaction, got an empty DataFrame")
    return log


def _log_tensors(log: object, model: MLPRecommender, name: str = "log") -> tuple[torch.Tensor, ...]:
    """Validated (user_ids, product_ids, clicks) tensors of a log, for ``model``."""
    log = _check_log_frame(log)
    users = _check_ids(f"{name}['user_id']", log["user_id"].to_numpy(), model.n_users)
    products = _check_ids(f"{name}['product_id']", log["product_id"].to_numpy(), model.n_products)
    clicks = log["click"].to_numpy()
    if not np.issubdtype(clicks.dtype, np.number) and clicks.dtype != np.bool_:
        raise TypeError(f"{name}['click'] must be numeric 0/1, got dtype {clicks.dtype}")
    clicks = clicks.astype(np.float32)
    if not np.isin(clicks, (0.0, 1.0)).all():
        raise ValueError(f"{name}['click'] must contain only 0 and 1")
    return users, products, torch.from_numpy(clicks)


def _check_ids(name: str, ids: object, size: int) -> torch.Tensor:
    if isinstance(ids, numbers.Integral) and not isinstance(ids, bool):
        ids = np.array([ids])
    if isinstance(ids, torch.Tensor):
        ids = ids.detach().cpu().numpy()
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer)):
        raise TypeError(f"{name} must be a 1-D array of integer ids, got dtype {ids.dtype} and shape {ids.shape}")
    if len(ids) and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"{name} must be in [0, {size}), got values in [{ids.min()}, {ids.max()}]")
    return torch.from_numpy(ids.astype(np.int64))


# ---------------------------------------------------------------------------- model
class MLPRecommender(nn.Module, Configurable):
    r"""Click model on user and product ids: embeddings, then an MLP, then a sigmoid.

    .. math:: \hat p(u, i) = \sigma\big(f_\theta([e_u; v_i])\big),

    with :math:`e_u, v_i \in \mathbb{R}^k` the learned embeddings of user :math:`u` and
    product :math:`i` (``k = embedding_dim``), :math:`[\,\cdot\,;\,\cdot\,]` concatenation
    and :math:`f_\theta` a ReLU MLP with one output (a logit).

    Parameters
    ----------
    n_users, n_products : int
        Sizes of the two embedding tables (ids are ``0..n-1``).
    embedding_dim : int, default 16
    hidden_dims : sequence of int, default (64, 32)
        Hidden widths of :math:`f_\theta`.
    seed : int or None
        Seed of the initialisation: embeddings :math:`\mathcal{N}(0, 0.1^2)`, linear
        layers as PyTorch's default, all from a private generator.

    Attributes
    ----------
    user_embedding : torch.nn.Embedding, weight shape (n_users, embedding_dim)
    product_embedding : torch.nn.Embedding, weight shape (n_products, embedding_dim)
    mlp : torch.nn.Sequential
        :math:`f_\theta`, from ``2 * embedding_dim`` inputs to one logit.

    Examples
    --------
    >>> model = MLPRecommender(n_users=10, n_products=4, seed=0)
    >>> model.predict_ctr([0, 1], [3, 3]).shape
    torch.Size([2])
    >>> model.ctr_table().shape
    torch.Size([10, 4])
    """

    def __init__(
        self,
        n_users: int,
        n_products: int,
        embedding_dim: int = 16,
        hidden_dims: Sequence[int] = (64, 32),
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.n_users = check_int("n_users", n_users, minimum=1)
        self.n_products = check_int("n_products", n_products, minimum=1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.hidden_dims = check_hidden_dims("hidden_dims", hidden_dims)
        self.seed = seed
        generator = seeded_generator(seed)
        self.user_embedding = nn.Embedding(self.n_users, self.embedding_dim)
        self.product_embedding = nn.Embedding(self.n_products, self.embedding_dim)
        with torch.no_grad():
            self.user_embedding.weight.normal_(0.0, 0.1, generator=generator)
            self.product_embedding.weight.normal_(0.0, 0.1, generator=generator)
        self.mlp = make_mlp(2 * self.embedding_dim, self.hidden_dims, 1, generator)

    def forward(self, user_ids: torch.Tensor, product_ids: torch.Tensor) -> torch.Tensor:
        """Logits :math:`f_\\theta([e_u; v_i])`, shape (n,), for id tensors of shape (n,) (unchecked)."""
        pair = torch.cat([self.user_embedding(user_ids), self.product_embedding(product_ids)], dim=1)
        return self.mlp(pair)[:, 0]

    @torch.no_grad()
    def predict_ctr(self, user_ids: Sequence[int] | np.ndarray | torch.Tensor,
                    product_ids: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        """Predicted click probability of each (user, product) pair.

        Parameters
        ----------
        user_ids, product_ids : array-like of int, shape (n,)

        Returns
        -------
        torch.Tensor, shape (n,), float32, values in (0, 1)
        """
        users = _check_ids("user_ids", user_ids, self.n_users)
        products = _check_ids("product_ids", product_ids, self.n_products)
        if users.shape != products.shape:
            raise ValueError(
                f"user_ids and product_ids must have the same length, got {len(users)} and {len(products)}")
        return torch.sigmoid(self(users, products))

    @torch.no_grad()
    def ctr_table(self) -> torch.Tensor:
        """Predicted CTR of every user for every product, shape (n_users, n_products)."""
        users = torch.arange(self.n_users).repeat_interleave(self.n_products)
        products = torch.arange(self.n_products).repeat(self.n_users)
        return torch.sigmoid(self(users, products)).reshape(self.n_users, self.n_products)


# ---------------------------------------------------------------------------- training
def train_recommender(
    model: MLPRecommender,
    log: pd.DataFrame,
    epochs: int = 10,
    batch_size: int = 512,
    lr: float = 1e-2,
    validation_fraction: float = 0.1,
    early_stopping: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    r"""Fit ``model`` to a log by mini-batch Adam on the binary cross-entropy.

    .. math:: \mathcal{L}(\theta, e, v) = -\frac{1}{|B|}\sum_{(u, i, c) \in B}
              \big[c \log \hat p(u, i) + (1 - c)\log\big(1 - \hat p(u, i)\big)\big]

    A random ``validation_fraction`` of the rows is held out of training; after every
    epoch (one pass over the rest, in shuffled mini-batches) the loss on it is
    recorded. With ``early_stopping`` the parameters of the epoch with the lowest
    validation loss are restored at the end (epoch 0 = the untrained model).

    Parameters
    ----------
    model : MLPRecommender
        Trained in place.
    log : pandas.DataFrame
        Columns ``user_id``, ``product_id``, ``click`` (e.g. from :func:`collect_log`).
    epochs : int, default 10
    batch_size : int, default 512
    lr : float, default 0.01
        Adam's learning rate.
    validation_fraction : float, default 0.1
        Share of ``log`` held out for the validation loss, in [0, 1); 0 trains on all
        rows (no validation loss, no early stopping).
    early_stopping : bool, default True
    seed : int, default 0
        Seed of the validation split and of the mini-batch order.

    Returns
    -------
    pandas.DataFrame
        One row per epoch (0 = before training): ``epoch``, ``train_loss`` (mean
        mini-batch loss of the epoch; the full-pass loss at epoch 0) and
        ``validation_loss`` (NaN without validation). ``attrs["best_epoch"]`` is the
        epoch whose parameters the model holds on return.
    """
    if not isinstance(model, MLPRecommender):
        raise TypeError(f"model must be an MLPRecommender, got {type(model).__name__}")
    users, products, clicks = _log_tensors(log, model)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, strictly_positive=True)
    validation_fraction = check_float("validation_fraction", validation_fraction, minimum=0.0, maximum=1.0)
    if validation_fraction >= 1.0:
        raise ValueError(f"validation_fraction must be < 1, got {validation_fraction}")
    if not isinstance(early_stopping, bool):
        raise TypeError(f"early_stopping must be a bool, got {type(early_stopping).__name__}")
    seed = check_int("seed", seed, minimum=0)
    n_validation = int(round(validation_fraction * len(users)))
    if validation_fraction > 0 and not 1 <= n_validation < len(users):
        raise ValueError(f"validation_fraction={validation_fraction} leaves no rows for validation or for training "
                         f"in a log of {len(users)} rows")

    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(users), generator=generator)
    held, kept = order[:n_validation], order[n_validation:]
    train = (users[kept], products[kept], clicks[kept])
    valid = (users[held], products[held], clicks[held]) if n_validation else None
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)

    def full_loss(part: tuple[torch.Tensor, ...]) -> float:
        with torch.no_grad():
            return float(F.binary_cross_entropy_with_logits(model(part[0], part[1]), part[2]))

    rows = [{"epoch": 0, "train_loss": full_loss(train), "validation_loss": full_loss(valid) if valid else np.nan}]
    best_epoch, best_loss, best_state = 0, rows[0]["validation_loss"], copy.deepcopy(model.state_dict())
    n_train = len(kept)
    model.train()
    for epoch in range(1, epochs + 1):
        permutation = torch.randperm(n_train, generator=generator)
        total = 0.0
        for start in range(0, n_train, batch_size):
            batch = permutation[start:start + batch_size]
            loss = F.binary_cross_entropy_with_logits(model(train[0][batch], train[1][batch]), train[2][batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        validation_loss = full_loss(valid) if valid else np.nan
        rows.append({"epoch": epoch, "train_loss": total / n_train, "validation_loss": validation_loss})
        if valid and early_stopping and validation_loss < best_loss:
            best_epoch, best_loss, best_state = epoch, validation_loss, copy.deepcopy(model.state_dict())
    model.eval()
    if valid and early_stopping:
        model.load_state_dict(best_state)
    else:
        best_epoch = epochs
    history = pd.DataFrame(rows)
    history.attrs["best_epoch"] = best_epoch
    return history


# ---------------------------------------------------------------------------- evaluation
def evaluate_recommender(model: MLPRecommender, log: pd.DataFrame) -> pd.DataFrame:
    r"""Offline metrics of ``model`` on a (held-out) log, next to two yardsticks.

    * **log-loss** -- the mean binary cross-entropy of the predicted CTRs on the clicks
      (lower is better);
    * **AUC** -- the probability that a random clicked row gets a higher predicted CTR
      than a random unclicked one (0.5 = no ranking skill, 1 = perfect).

    Rows: ``"MLPRecommender"``; ``"true CTR"`` (the simulator's own click
    probabilities used as predictions, the best any model can do on this log; only
    when the log has a ``true_ctr`` column); ``"constant click rate"`` (the log's
    click rate for every row: a model that learned nothing about users or products).

    Returns
    -------
    pandas.DataFrame
        Index ``predictor``; columns ``log_loss``, ``auc``.
    """
    if not isinstance(model, MLPRecommender):
        raise TypeError(f"model must be an MLPRecommender, got {type(model).__name__}")
    users, products, clicks = _log_tensors(log, model)
    y = clicks.numpy()
    if y.min() == y.max():
        raise ValueError("log must contain both clicks and non-clicks to compute the AUC")
    predictors = {"MLPRecommender": model.predict_ctr(users, products).double().numpy()}
    if "true_ctr" in log.columns:
        predictors["true CTR"] = log["true_ctr"].to_numpy(dtype=np.float64)
    predictors["constant click rate"] = np.full(len(y), y.mean())
    rows = {name: {"log_loss": binary_log_loss(y, p), "auc": roc_auc(y, p)} for name, p in predictors.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "predictor"
    return table


def binary_log_loss(clicks: np.ndarray, predicted: np.ndarray) -> float:
    r"""Mean binary cross-entropy :math:`-\frac1n\sum_j [c_j\log p_j + (1-c_j)\log(1-p_j)]`.

    ``predicted`` is clipped to :math:`[10^{-7}, 1 - 10^{-7}]` so that a confident
    mistake costs a large but finite loss. Both arrays have shape (n,).
    """
    c = np.asarray(clicks, dtype=np.float64)
    p = np.clip(np.asarray(predicted, dtype=np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(c * np.log(p) + (1 - c) * np.log1p(-p)))


def roc_auc(clicks: np.ndarray, predicted: np.ndarray) -> float:
    r"""Area under the ROC curve: :math:`P(p_j > p_k)` for a random clicked row ``j``
    and unclicked row ``k`` (ties count one half), computed from ranks
    (Mann--Whitney): :math:`(R_+ - n_+(n_+ + 1)/2) / (n_+ n_-)` with :math:`R_+` the
    sum of the clicked rows' average ranks. Both arrays have shape (n,).
    """
    c = np.asarray(clicks).astype(bool)
    n_pos, n_neg = int(c.sum()), int((~c).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("the AUC needs both clicks and non-clicks")
    ranks = pd.Series(np.asarray(predicted, dtype=np.float64)).rank(method="average").to_numpy()
    return float((ranks[c].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration_table(model: MLPRecommender, log: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Rows of ``log`` binned by predicted CTR (equal-count bins): predicted vs actual.

    A calibrated model has ``mean_predicted`` close to ``click_rate`` (and, when the
    log carries ``true_ctr``, to ``mean_true_ctr``) in every bin.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``n``, ``mean_predicted``, ``click_rate`` and, if available,
        ``mean_true_ctr``.
    """
    if not isinstance(model, MLPRecommender):
        raise TypeError(f"model must be an MLPRecommender, got {type(model).__name__}")
    users, products, clicks = _log_tensors(log, model)
    n_bins = check_int("n_bins", n_bins, minimum=1)
    predicted = model.predict_ctr(users, products).double().numpy()
    frame = pd.DataFrame({"predicted": predicted, "click": clicks.numpy()})
    if "true_ctr" in log.columns:
        frame["true_ctr"] = log["true_ctr"].to_numpy(dtype=np.float64)
    ranks = pd.Series(predicted).rank(method="first").to_numpy()
    frame["bin"] = np.minimum(((ranks - 1) * n_bins // len(frame)).astype(int), n_bins - 1)
    grouped = frame.groupby("bin")
    table = pd.DataFrame({"n": grouped.size(), "mean_predicted": grouped["predicted"].mean(),
                          "click_rate": grouped["click"].mean()})
    if "true_ctr" in frame:
        table["mean_true_ctr"] = grouped["true_ctr"].mean()
    return table


# ---------------------------------------------------------------------------- deployment
class FrozenRecommenderAgent(BanditAgent):
    r"""A trained :class:`MLPRecommender` deployed frozen: greedy on predicted CTR.

    For the visiting user :math:`u` it plays :math:`\arg\max_i \hat p(u, i)` and never
    learns (``update`` only checks its arguments).

    The recommender needs the *user id*, which the feature rows (persona one-hot and
    category one-hot) do not carry. A real shop knows who is logged in; here the
    environment tells: :class:`~bandits_lib.envs.PetShopEnvironment` passes
    ``info["user"]`` with every step. The agent sees nothing a real recommender would not:
    the visitor's id, never a click before it happens.

    Parameters
    ----------
    recommender : MLPRecommender
        Trained model, scored once, at construction (frozen).
    device : str or torch.device, default "cpu"

    Attributes
    ----------
    predicted_ctr : numpy.ndarray, shape (n_users, n_products)
        :math:`\hat p(u, i)` for every pair.
    recommendation : numpy.ndarray of int, shape (n_users,)
        The product played for each user, ``predicted_ctr.argmax(1)``.
    """

    _transient_attributes = BanditAgent._transient_attributes | {"predicted_ctr", "recommendation"}

    def __init__(self, recommender: MLPRecommender, device: torch.device | str = "cpu") -> None:
        if not isinstance(recommender, MLPRecommender):
            raise TypeError(f"recommender must be an MLPRecommender, got {type(recommender).__name__}")
        super().__init__(FEATURE_DIM, device)
        self.recommender = recommender
        self.n_arms = recommender.n_products
        self.predicted_ctr = recommender.ctr_table().double().numpy()
        self.recommendation = self.predicted_ctr.argmax(axis=1)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, None]:
        user = info.get("user")
        if user is None:
            raise ValueError("FrozenRecommenderAgent needs info['user'], the visitor's id: play it through an "
                             "environment that provides it, e.g. PetShopEnvironment")
        user = check_int("info['user']", user, minimum=0)
        if user >= self.recommender.n_users:
            raise ValueError(f"info['user'] must be < n_users ({self.recommender.n_users}), got {user}")
        mean = torch.from_numpy(self.predicted_ctr[user])
        return mean, torch.zeros_like(mean), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        pass  # frozen


def make_frozen_recommender(
    seed: int,
    simulator: ZooplusSimulator | None = None,
    n_products: int = 50,
    n_users: int = 1000,
    n_log: int = 50_000,
    test_fraction: float = 0.2,
    embedding_dim: int = 16,
    hidden_dims: Sequence[int] = (64, 32),
    epochs: int = 10,
    batch_size: int = 512,
    lr: float = 1e-2,
    device: torch.device | str = "cpu",
) -> FrozenRecommenderAgent:
    """Agent factory for :func:`~bandits_lib.experiments.run_comparison`: log, train, freeze.

    In the run's world (``simulator``; by default the shop of ``seed``,
    ``ZooplusSimulator(n_products, n_users, seed=seed)``, which is the world
    ``run_comparison`` plays for that seed unless it is given a ``simulator_seed``), log
    ``n_log`` uniformly random impressions
    (:func:`collect_log` with ``seed``), keep the training part of the split (the same
    split as :func:`split_log` with ``seed``), train an :class:`MLPRecommender` seeded
    with ``seed`` (:func:`train_recommender`, early stopping) and deploy it as a
    :class:`FrozenRecommenderAgent`. Use ``functools.partial`` to change the defaults.

    Returns
    -------
    FrozenRecommenderAgent
        With the training history in ``agent.history``.
    """
    seed = check_int("seed", seed, minimum=0)
    if simulator is None:
        simulator = ZooplusSimulator(n_products=n_products, n_users=n_users, seed=seed)
    if not isinstance(simulator, ZooplusSimulator):
        raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
    log = collect_log(simulator, n_log, seed=seed)
    train, _ = split_log(log, test_fraction=test_fraction, seed=seed)
    model = MLPRecommender(simulator.n_users, simulator.n_products, embedding_dim, hidden_dims, seed=seed)
    history = train_recommender(model, train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    agent = FrozenRecommenderAgent(model, device=device)
    agent.history = history
    return agent


__all__ = [
    "LOG_COLUMNS", "collect_log", "split_log", "MLPRecommender", "train_recommender", "evaluate_recommender",
    "calibration_table", "binary_log_loss", "roc_auc", "FrozenRecommenderAgent", "make_frozen_recommender",
]
