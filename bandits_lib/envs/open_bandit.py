r"""Real logged traffic: the Open Bandit Dataset (ZOZOTOWN), small public sample.

The data (Saito, Aihara, Matsutani and Narita, 2021) ship with the library in
``bandits_lib/data/open_bandit/`` (see the README there for licence and provenance): for
each of two behaviour policies, uniformly random (``"random"``) and Bernoulli Thompson
sampling (``"bts"``), 10,000 logged impressions of the "all" campaign, each one item out of
80 shown at one of 3 positions, with the click, the probability the behaviour policy had
of showing that item there (the *propensity*), four categorical user features, the user's
past clicks on every item and four item features.

:func:`load_open_bandit` reads one log into an :class:`OpenBanditData`, which encodes
everything as numbers and builds the per-arm feature vectors the book's agents read.

**Features of an arm.** For event :math:`i` (user features :math:`u_i`, position
:math:`k_i`) and item :math:`a` (item features :math:`z_a`),

.. math:: x_{i,a} = \big[\, u_i \;\big|\; e_{k_i} \;\big|\; z_a \;\big|\; \mathrm{aff}_{i,a} \,\big],

the one-hot user features (26 columns), the one-hot position (3), the item's features
(the numeric ``item_feature_0`` and one-hots of the categorical ``item_feature_1`` and
``item_feature_3``: 20 columns) and the user's past clicks on item :math:`a` (1): 50 numbers.
``item_feature_2`` is left out by default: its 21 categories split the 80 items into groups
of about four, nearly an item identifier, which would add 21 columns (and, for LinUCB's
:math:`d \times d` matrices, double the cost per step) for information no model can learn
from a few dozen clicks. A disjoint model such as LinUCB learns one weight vector per item,
so for it :math:`z_a` is a constant; a shared model such as a network needs :math:`z_a` to
tell items apart.

**Positions.** Each row is one (impression, position) pair, and the sample is a random
subset of the full log, so the three slots of one impression rarely all appear. The rows
are pooled as separate events with the position as part of the context: a policy chooses an
item *for a given slot*, its value is the click rate per slot, and the propensity is the
behaviour policy's probability of the item at that slot (which is how the data record it).

Taught in: chapters/04_5_logged_data.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._validation import check_choice

#: Behaviour policies of the Open Bandit Dataset.
BEHAVIOR_POLICIES: tuple[str, ...] = ("random", "bts")
#: Campaigns of the full dataset; only "all" ships with the library.
CAMPAIGNS: tuple[str, ...] = ("all", "men", "women")
#: Slots of the recommendation widget (left, centre, right), stored 1..3 in the files.
N_POSITIONS = 3
#: Where the shipped sample lives.
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "open_bandit"

USER_COLUMNS: tuple[str, ...] = tuple(f"user_feature_{j}" for j in range(4))
ITEM_CATEGORICAL: tuple[str, ...] = ("item_feature_1", "item_feature_2", "item_feature_3")
#: Categorical item features one-hot encoded by default (see the module docstring).
DEFAULT_ITEM_CATEGORICAL: tuple[str, ...] = ("item_feature_1", "item_feature_3")
ITEM_COLUMNS: tuple[str, ...] = ("item_id", "item_feature_0", *ITEM_CATEGORICAL)
LOG_COLUMNS: tuple[str, ...] = ("timestamp", "item_id", "position", "click", "propensity_score", *USER_COLUMNS)
AFFINITY_PREFIX = "user-item_affinity_"


@dataclass(frozen=True, eq=False)
class OpenBanditData:
    r"""One behaviour policy's log of the Open Bandit Dataset, encoded as numbers.

    Event :math:`i` is the impression of item ``actions[i]`` at slot ``positions[i]`` to a
    user with features ``user_features[i]``; ``rewards[i]`` is the click and
    ``propensities[i]`` the behaviour policy's probability of that item at that slot.

    Attributes
    ----------
    behavior_policy : str
        ``"random"`` or ``"bts"``.
    campaign : str
    actions : numpy.ndarray of int64, shape (n_events,)
        Item shown, in ``0..n_actions-1``.
    positions : numpy.ndarray of int64, shape (n_events,)
        Slot, ``0`` (left), ``1`` (centre) or ``2`` (right); the files store 1..3.
    rewards : numpy.ndarray of float64, shape (n_events,)
        Click (1.0) or not (0.0).
    propensities : numpy.ndarray of float64, shape (n_events,)
        :math:`\pi_b(a_i \mid x_i, k_i)`, in (0, 1].
    timestamps : numpy.ndarray of datetime64[ns], shape (n_events,)
        Time of the impression (UTC), increasing.
    user_features : numpy.ndarray of float32, shape (n_events, d_user)
        One-hot encoding of the four categorical user features (categories in
        ``user_feature_names``), so each row has four ones.
    affinity : numpy.ndarray of float32, shape (n_events, n_actions)
        The user's past clicks on each item.
    item_features : numpy.ndarray of float32, shape (n_actions, d_item)
        ``item_feature_0`` (numeric) then one-hots of the chosen categorical item
        features (by default ``item_feature_1`` and ``item_feature_3``).
    user_feature_names, item_feature_names : tuple of str
        Column names of the two feature blocks.
    source : pathlib.Path
        The log file read.
    user_categories : dict of str to tuple of str
        The (hashed) categories of each user feature, in the order of their one-hot
        columns; pass it to :func:`load_open_bandit` to encode another log the same way.
    """

    behavior_policy: str
    campaign: str
    actions: np.ndarray
    positions: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray
    timestamps: np.ndarray
    user_features: np.ndarray
    affinity: np.ndarray
    item_features: np.ndarray
    user_feature_names: tuple[str, ...]
    item_feature_names: tuple[str, ...]
    source: Path
    user_categories: dict[str, tuple[str, ...]]

    # ------------------------------------------------------------------ sizes
    @property
    def n_events(self) -> int:
        """Number of logged events (rows)."""
        return len(self.actions)

    @property
    def n_actions(self) -> int:
        """Number of items (arms): 80 in the "all" campaign."""
        return self.item_features.shape[0]

    @property
    def n_positions(self) -> int:
        """Number of slots (3)."""
        return N_POSITIONS

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the entries of a per-arm feature vector (see :meth:`arm_features`)."""
        positions = tuple(f"position={k + 1}" for k in range(N_POSITIONS))
        return (*self.user_feature_names, *positions, *self.item_feature_names, "affinity")

    @property
    def feature_dim(self) -> int:
        """Width ``d`` of a per-arm feature vector."""
        return len(self.feature_names)

    # ------------------------------------------------------------------ features
    def context_features(self) -> np.ndarray:
        """User one-hots then position one-hot of every event, shape (n_events, d_user + 3), float32."""
        return _context_rows(self, np.arange(self.n_events))

    def arm_features(self, index: int | Sequence[int] | np.ndarray) -> torch.Tensor:
        r"""Per-arm feature vectors :math:`x_{i,a} = [u_i \mid e_{k_i} \mid z_a \mid \mathrm{aff}_{i,a}]`.

        Parameters
        ----------
        index : int or array-like of int
            One event, or several (shape (m,)).

        Returns
        -------
        torch.Tensor, float32
            Shape (n_actions, feature_dim) for one event -- the ``X`` an agent's
            ``predict`` takes -- or (m, n_actions, feature_dim) for several.
        """
        single = isinstance(index, (int, np.integer)) and not isinstance(index, bool)
        rows = np.atleast_1d(np.asarray(index))
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(f"index must be an event number or a 1-D array of them, got {index!r}")
        if len(rows) and (rows.min() < -self.n_events or rows.max() >= self.n_events):
            raise IndexError(f"index must be in [0, {self.n_events}), got values in [{rows.min()}, {rows.max()}]")
        m, n_actions = len(rows), self.n_actions
        context = _context_rows(self, rows)
        X = np.empty((m, n_actions, self.feature_dim), dtype=np.float32)
        width = context.shape[1]
        X[:, :, :width] = context[:, None, :]
        X[:, :, width:-1] = self.item_features[None, :, :]
        X[:, :, -1] = self.affinity[rows]
        X = torch.from_numpy(X)
        return X[0] if single else X

    def subset(self, index: slice | Sequence[int] | np.ndarray) -> OpenBanditData:
        """The events ``index`` (a slice, integer indices or a boolean mask), as a new log."""
        pick = (lambda a: a[index]) if isinstance(index, slice) else (lambda a: a[np.asarray(index)])
        return OpenBanditData(
            self.behavior_policy, self.campaign, pick(self.actions), pick(self.positions), pick(self.rewards),
            pick(self.propensities), pick(self.timestamps), pick(self.user_features), pick(self.affinity),
            self.item_features, self.user_feature_names, self.item_feature_names, self.source, self.user_categories,
        )

    def summary(self) -> pd.Series:
        """Counts and rates of the log: events, clicks, click rate, items, propensities, span."""
        return pd.Series({
            "events": self.n_events,
            "clicks": int(self.rewards.sum()),
            "click rate (%)": 100 * float(self.rewards.mean()),
            "items": self.n_actions,
            "positions": self.n_positions,
            "distinct user contexts": len(np.unique(self.user_features, axis=0)),
            "propensity min": float(self.propensities.min()),
            "propensity max": float(self.propensities.max()),
            "first impression": pd.Timestamp(self.timestamps[0]),
            "last impression": pd.Timestamp(self.timestamps[-1]),
        }, name=self.behavior_policy)

    def __repr__(self) -> str:
        return (f"OpenBanditData(behavior_policy={self.behavior_policy!r}, campaign={self.campaign!r}, "
                f"n_events={self.n_events}, n_actions={self.n_actions}, feature_dim={self.feature_dim})")


def _context_rows(data: OpenBanditData, rows: np.ndarray) -> np.ndarray:
    positions = np.eye(N_POSITIONS, dtype=np.float32)[data.positions[rows]]
    return np.concatenate([data.user_features[rows], positions], axis=1)


# ---------------------------------------------------------------------------- loading
def load_open_bandit(
    behavior_policy: str = "random",
    campaign: str = "all",
    data_dir: str | os.PathLike | None = None,
    user_categories: Mapping[str, Sequence[str]] | None = None,
    item_categorical: Sequence[str] = DEFAULT_ITEM_CATEGORICAL,
) -> OpenBanditData:
    """Read one behaviour policy's log of the Open Bandit Dataset.

    Parameters
    ----------
    behavior_policy : {"random", "bts"}, default "random"
        Uniformly random logging, or Bernoulli Thompson sampling.
    campaign : {"all", "men", "women"}, default "all"
        Only "all" ships with the library; the others need ``data_dir``.
    data_dir : path, optional
        Folder laid out as ``{behavior_policy}/{campaign}/{campaign}.csv[.gz]`` and
        ``{behavior_policy}/{campaign}/item_context.csv``. Default: the shipped sample.
    user_categories : mapping, optional
        The categories of each user feature (``user_feature_0`` .. ``_3``) to one-hot
        encode, in column order. Default: the sorted union of the values found in the
        logs of *every* behaviour policy of the campaign under ``data_dir``, so that the
        random and the BTS log share one encoding (the BTS log has a category the random
        one lacks). A value outside the given categories is an error.
    item_categorical : sequence of str, default ("item_feature_1", "item_feature_3")
        Categorical item features to one-hot encode, a subset of
        ``("item_feature_1", "item_feature_2", "item_feature_3")``.

    Returns
    -------
    OpenBanditData

    Raises
    ------
    FileNotFoundError
        A file is missing (the message names it).
    ValueError
        A file cannot be parsed, lacks columns, or holds a value out of range (the
        message names the file, the column and the problem).

    Examples
    --------
    >>> data = load_open_bandit("random")
    >>> data.n_events, data.n_actions, tuple(data.arm_features(0).shape)
    (10000, 80, (80, 50))
    """
    behavior_policy = check_choice("behavior_policy", behavior_policy, BEHAVIOR_POLICIES)
    campaign = check_choice("campaign", campaign, CAMPAIGNS)
    if isinstance(item_categorical, str) or not isinstance(item_categorical, Sequence):
        raise TypeError(f"item_categorical must be a sequence of column names, got {item_categorical!r}")
    item_categorical = tuple(check_choice("item_categorical", c, ITEM_CATEGORICAL) for c in item_categorical)
    root = DATA_DIR if data_dir is None else Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"data_dir {str(root)!r} is not a folder")
    log_path = _log_path(root, behavior_policy, campaign)
    item_path = root / behavior_policy / campaign / "item_context.csv"
    if not item_path.is_file():
        raise FileNotFoundError(f"{item_path} does not exist: expected the item features of the {campaign!r} "
                                f"campaign next to the {behavior_policy!r} log")

    items = _read_items(item_path)
    n_actions = len(items)
    log = _read_csv(log_path, "the logged events")
    _check_log(log, log_path, n_actions)

    if user_categories is None:
        user_categories = _user_vocabulary(root, campaign, {behavior_policy: log})
    user_features, user_names = _one_hot_users(log, log_path, user_categories)
    item_features, item_names = _encode_items(items, item_categorical)
    affinity_columns = [f"{AFFINITY_PREFIX}{a}" for a in range(n_actions)]
    return OpenBanditData(
        behavior_policy=behavior_policy,
        campaign=campaign,
        actions=log["item_id"].to_numpy(dtype=np.int64),
        positions=log["position"].to_numpy(dtype=np.int64) - 1,
        rewards=log["click"].to_numpy(dtype=np.float64),
        propensities=log["propensity_score"].to_numpy(dtype=np.float64),
        timestamps=_timestamps(log, log_path),
        user_features=user_features,
        affinity=log[affinity_columns].to_numpy(dtype=np.float32),
        item_features=item_features,
        user_feature_names=user_names,
        item_feature_names=item_names,
        source=log_path,
        user_categories={c: tuple(str(v) for v in user_categories[c]) for c in USER_COLUMNS},
    )


def _log_path(root: Path, behavior_policy: str, campaign: str) -> Path:
    folder = root / behavior_policy / campaign
    for name in (f"{campaign}.csv.gz", f"{campaign}.csv"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder / (campaign + '.csv.gz')} does not exist (nor {campaign}.csv): expected the "
                            f"{behavior_policy!r} log of the {campaign!r} campaign")


def _read_csv(path: Path, what: str, usecols: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, index_col=0, usecols=None if usecols is None else ["Unnamed: 0", *usecols])
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path} is empty: expected a CSV file of {what}") from err
    except (pd.errors.ParserError, UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error, OSError) as err:
        raise ValueError(f"{path} could not be read as a CSV file of {what}: {err}") from err
    except ValueError as err:  # usecols names a column the file lacks
        raise ValueError(f"{path} lacks columns needed for {what}: {err}") from err
    if len(frame) == 0:
        raise ValueError(f"{path} has a header but no rows: expected {what}")
    return frame


def _show(value: object) -> str:
    """``repr`` of a cell, as a plain Python value (``0.0``, not ``np.float64(0.0)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _missing(frame: pd.DataFrame, path: Path, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} is missing the columns {missing}")


def _integer_column(frame: pd.DataFrame, path: Path, column: str, low: int, high: int) -> None:
    values = frame[column]
    if not pd.api.types.is_integer_dtype(values):
        bad = values[pd.to_numeric(values, errors="coerce").isna() | (pd.to_numeric(values, errors="coerce") % 1 != 0)]
        shown = bad.iloc[0] if len(bad) else values.iloc[0]
        raise ValueError(f"{path}: column {column!r} must hold integers, found {_show(shown)} "
                         f"(row {bad.index[0] if len(bad) else values.index[0]})")
    out = values[(values < low) | (values > high)]
    if len(out):
        raise ValueError(f"{path}: column {column!r} must lie in [{low}, {high}], found {_show(out.iloc[0])} "
                         f"(row {out.index[0]})")


def _check_log(log: pd.DataFrame, path: Path, n_actions: int) -> None:
    affinity = [f"{AFFINITY_PREFIX}{a}" for a in range(n_actions)]
    _missing(log, path, [*LOG_COLUMNS, *affinity])
    extra = [c for c in log.columns if c.startswith(AFFINITY_PREFIX) and c not in affinity]
    if extra:
        raise ValueError(f"{path} has affinity columns for items the item file lacks ({extra[:3]}...): "
                         f"expected {n_actions} items")
    _integer_column(log, path, "item_id", 0, n_actions - 1)
    _integer_column(log, path, "position", 1, N_POSITIONS)
    _integer_column(log, path, "click", 0, 1)
    propensity = pd.to_numeric(log["propensity_score"], errors="coerce")
    bad = propensity[~((propensity > 0) & (propensity <= 1))]
    if len(bad):
        raise ValueError(f"{path}: column 'propensity_score' must lie in (0, 1], found "
                         f"{_show(log['propensity_score'].loc[bad.index[0]])} (row {bad.index[0]})")
    for column in USER_COLUMNS:
        if log[column].isna().any():
            raise ValueError(f"{path}: column {column!r} has missing values (row {log.index[log[column].isna()][0]})")
    values = log[affinity]
    numeric = values.apply(pd.to_numeric, errors="coerce")
    if numeric.isna().any().any() or not np.isfinite(numeric.to_numpy(dtype=np.float64)).all():
        column = numeric.columns[(numeric.isna() | ~np.isfinite(numeric.fillna(0))).any()][0]
        raise ValueError(f"{path}: column {column!r} must hold finite numbers")


def _timestamps(log: pd.DataFrame, path: Path) -> np.ndarray:
    try:
        stamps = pd.to_datetime(log["timestamp"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: column 'timestamp' holds a value that is not a date: {err}") from err
    return stamps.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


def _read_items(path: Path) -> pd.DataFrame:
    items = _read_csv(path, "item features")
    _missing(items, path, ITEM_COLUMNS)
    _integer_column(items, path, "item_id", 0, len(items) - 1)
    ids = items["item_id"].to_numpy()
    if len(np.unique(ids)) != len(ids):
        duplicated = items["item_id"][items["item_id"].duplicated()].iloc[0]
        raise ValueError(f"{path}: column 'item_id' must list each item once, item {duplicated} appears twice")
    numeric = pd.to_numeric(items["item_feature_0"], errors="coerce")
    if numeric.isna().any() or not np.isfinite(numeric).all():
        raise ValueError(f"{path}: column 'item_feature_0' must hold finite numbers")
    for column in ITEM_CATEGORICAL:
        if items[column].isna().any():
            raise ValueError(f"{path}: column {column!r} has missing values")
    return items.sort_values("item_id").reset_index(drop=True)


def _encode_items(items: pd.DataFrame, categorical: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``item_feature_0`` then one-hots of the ``categorical`` item features.

    The two logs hash category labels differently (same partition of the items), so a
    category is numbered by its first item in ``item_id`` order: the encoding does not
    depend on the labels.
    """
    blocks = [items["item_feature_0"].to_numpy(dtype=np.float32)[:, None]]
    names = ["item_feature_0"]
    for column in categorical:
        codes, uniques = pd.factorize(items[column], sort=False)  # order of first appearance
        blocks.append(np.eye(len(uniques), dtype=np.float32)[codes])
        names.extend(f"{column}={j}" for j in range(len(uniques)))
    return np.concatenate(blocks, axis=1), tuple(names)


def _user_vocabulary(root: Path, campaign: str, loaded: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Sorted union of each user feature's values over every behaviour policy's log found."""
    frames = []
    for policy in BEHAVIOR_POLICIES:
        if policy in loaded:
            frames.append(loaded[policy][list(USER_COLUMNS)])
            continue
        try:
            path = _log_path(root, policy, campaign)
        except FileNotFoundError:
            continue
        frames.append(_read_csv(path, "the logged events", usecols=USER_COLUMNS))
    return {c: sorted({str(v) for frame in frames for v in frame[c].dropna()}) for c in USER_COLUMNS}


def _one_hot_users(log: pd.DataFrame, path: Path,
                   categories: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, tuple[str, ...]]:
    if not isinstance(categories, Mapping):
        raise TypeError(f"user_categories must map each of {USER_COLUMNS} to its categories, "
                        f"got {type(categories).__name__}")
    missing = [c for c in USER_COLUMNS if c not in categories]
    if missing:
        raise ValueError(f"user_categories is missing {missing}")
    blocks, names = [], []
    for column in USER_COLUMNS:
        vocabulary = [str(v) for v in categories[column]]
        values = log[column].astype(str)
        known = values.isin(vocabulary).to_numpy()
        if not known.all():
            unknown = values[~known].iloc[0]
            raise ValueError(f"{path}: column {column!r} has the value {unknown!r}, which is not among the "
                             f"{len(vocabulary)} categories of user_categories[{column!r}]")
        codes = pd.Categorical(values, categories=vocabulary).codes
        blocks.append(np.eye(len(vocabulary), dtype=np.float32)[codes])
        names.extend(f"{column}={j}" for j in range(len(vocabulary)))
    return np.concatenate(blocks, axis=1), tuple(names)


__all__ = ["BEHAVIOR_POLICIES", "CAMPAIGNS", "DATA_DIR", "N_POSITIONS", "OpenBanditData", "load_open_bandit"]
