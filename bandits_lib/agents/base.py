"""The interface every agent shares, and the checks behind it.

An agent answers ``predict(feature_vectors, info) -> arm`` and learns from
``update(chosen_arm, feature_vector, reward)``, exactly one update per predict. Between
the two lies the book's one idea of a decision: the agent scores every arm with an
estimated mean and a confidence width (:meth:`BanditAgent.score`), and an exploration
rule (:mod:`bandits_lib.exploration`: UCB, Thompson sampling, epsilon-greedy) turns
them into an arm. ``info`` carries what the world tells about the step besides the
features (the pet shop: the visiting user and persona); only agents that need it read it.

Every public call validates its arguments *before* touching state: a rejected call
raises ``TypeError``/``ValueError`` naming the argument and leaves the agent exactly
as it was. Agents are scikit-learn style objects (:class:`~bandits_lib.params.Configurable`):
the constructor stores its parameters, ``get_params`` reads them back and
``clone(seed=s)`` builds a fresh agent; their learned state goes into checkpoints
(:class:`~bandits_lib.checkpoint.Stateful`).

Taught in: chapters/03_4_online_learning (the interaction loop), chapters/appendix_performance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .._validation import MAX_ABS_INPUT, check_device, check_int, check_matrix, check_reward, check_vector
from ..checkpoint import CheckpointError, Stateful
from ..exploration import ExplorationRule, make_rule
from ..params import Configurable


@dataclass
class _Decision:
    """What ``predict`` remembers for the ``update`` that follows it."""

    features: torch.Tensor  # (n_arms, feature_dim) as validated
    cache: Any  # agent-specific quantities computed at predict time


class _RowGroups:
    """The arms grouped by identical feature rows, groups in order of first appearance.

    ``rows[g]`` is the feature row shared by group ``g``, ``inverse[a]`` (tensor) and
    ``group_of[a]`` (list) the group of arm ``a``, ``first_arm[g]`` the smallest arm of
    group ``g`` (increasing in ``g``). Because groups are ordered by first appearance,
    the first maximum over the arms of a per-group score ``s`` is
    ``first_arm[argmax(s)]``: an agent can score each distinct row once and still pick
    exactly the arm ``argmax(s[inverse])`` would pick, ties included.
    """

    def __init__(self, X: torch.Tensor) -> None:
        _, by_value = torch.unique(X, dim=0, return_inverse=True)  # groups in sorted order of the rows
        n_arms, n_groups = X.shape[0], int(by_value.max()) + 1
        arms = torch.arange(n_arms, device=X.device)
        first = torch.full((n_groups,), n_arms, device=X.device).scatter_reduce_(0, by_value, arms, reduce="amin")
        order = torch.argsort(first)  # sorted group -> position by first appearance
        relabel = torch.empty_like(order)
        relabel[order] = torch.arange(n_groups, device=X.device)
        self.inverse = relabel[by_value]
        self.group_of = self.inverse.tolist()
        self.first_arm = first[order].tolist()
        self.rows = X[first[order]]


class _CheckedFeatures:
    """A validated feature matrix; its distinct rows and dtype conversions computed on first use."""

    __slots__ = ("source", "version", "X", "_distinct", "_groups", "_derived")

    def __init__(self, source: object, X: torch.Tensor) -> None:
        self.source = source
        self.version = source._version if isinstance(source, torch.Tensor) else None
        self.X = X
        self._distinct: tuple[torch.Tensor, torch.Tensor] | None = None
        self._groups: _RowGroups | None = None
        self._derived: dict[object, torch.Tensor] = {}

    def distinct(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Distinct rows (n_distinct, d) and each row's index among them (n_arms,)."""
        if self._distinct is None:
            self._distinct = torch.unique(self.X, dim=0, return_inverse=True)
        return self._distinct

    def groups(self) -> _RowGroups:
        """The distinct rows in order of first appearance (see :class:`_RowGroups`)."""
        if self._groups is None:
            self._groups = _RowGroups(self.X)
        return self._groups

    def as_dtype(self, dtype: torch.dtype) -> torch.Tensor:
        """``X`` converted to ``dtype`` (converted once, then reused; do not modify)."""
        converted = self._derived.get(dtype)
        if converted is None:
            converted = self._derived[dtype] = self.X.to(dtype)
        return converted

    def outer(self, dtype: torch.dtype) -> torch.Tensor:
        """Each row's outer product :math:`x_a x_a^\top`, flattened: shape (n_arms, d * d), in ``dtype`` (made once)."""
        key = ("outer", dtype)
        products = self._derived.get(key)
        if products is None:
            X = self.as_dtype(dtype)
            products = self._derived[key] = (X.unsqueeze(2) * X.unsqueeze(1)).reshape(X.shape[0], -1)
        return products


def _is_row_view(vector: object, X: torch.Tensor, row: int) -> bool:
    """Whether ``vector`` is row ``row`` of ``X`` itself: same memory, dtype, shape and stride.

    True for ``X[row]`` (what experiments pass to ``update``); checking it costs no
    tensor operation, where comparing values (``torch.equal``) costs two.
    """
    return (isinstance(vector, torch.Tensor) and vector.dim() == 1
            and vector.data_ptr() == X.data_ptr() + row * X.stride(0) * X.element_size()
            and vector.dtype == X.dtype and vector.shape[0] == X.shape[1] and vector.stride(0) == X.stride(1)
            and vector.device == X.device)


class _FeatureChecks:
    """Remembers the last few feature tensors that passed validation.

    Experiments pass the same cached tensor for every visit of a persona; checking it
    (finite values, shape) and finding its distinct rows once instead of at every step
    saves most of the per-step overhead. A tensor modified in place is checked again
    (its version counter changes); references are held, so an id is never reused.
    """

    size = 16

    def __init__(self) -> None:
        self._entries: dict[int, _CheckedFeatures] = {}

    def get(self, source: object) -> _CheckedFeatures | None:
        entry = self._entries.get(id(source))
        if entry is not None and entry.source is source and entry.version == source._version:  # type: ignore[attr-defined]
            return entry
        return None

    def put(self, entry: _CheckedFeatures) -> None:
        if entry.version is None:
            return
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[id(entry.source)] = entry


class BanditAgent(Configurable, Stateful):
    """Base class: validation, the predict/update protocol and the exploration seam.

    A subclass stores its constructor parameters under their own names, calls
    ``super().__init__(feature_dim, device)`` and, if it explores,
    :meth:`_use_exploration`; then it implements

    * ``_score(features, info) -> (mean, width, cache)``, each of shape (n_arms,), or,
      when the scores depend on the feature row only, ``_score_rows(features, info)``
      with one entry per distinct row (``features.groups().rows``), and sets
      ``scores_rows = True``: identical rows are scored once;
    * ``_learn(arm, x, reward, cache)``.

    ``features.X`` is the validated matrix; ``cache`` is handed from the decision to the
    update that follows it.
    """

    feature_dim: int
    n_arms: int | None = None
    #: Exploration weight of the rule (see :mod:`bandits_lib.exploration`); 0 for agents that do not explore.
    alpha: float = 0.0
    #: Whether the agent implements ``_score_rows`` (see above).
    scores_rows: bool = False
    _transient_attributes = frozenset({"_pending", "_checked", "_rule", "exploration"})

    def __init__(self, feature_dim: int, device: torch.device | str = "cpu") -> None:
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.device = check_device("device", device)
        self.t = 0  # number of completed updates
        self._pending: _Decision | None = None
        self._checked = _FeatureChecks()
        self._rule: ExplorationRule = make_rule("exploration", "ucb")
        self._rng: Any = None

    def _use_exploration(self, exploration: str | ExplorationRule, seed: int | None) -> None:
        """Decide with ``exploration`` (a name in :data:`~bandits_lib.exploration.RULES` or a rule),
        drawing from a generator made from ``seed``."""
        self._rule = make_rule("exploration", exploration)
        self._rng = self._rule.generator(seed)

    # -------------------------------------------------------------- public API
    def predict(self, feature_vectors: torch.Tensor, info: Mapping[str, Any] | None = None) -> int:
        """Choose an arm.

        Parameters
        ----------
        feature_vectors : torch.Tensor, shape (n_arms, feature_dim)
            One row per arm (the user's context against every product).
        info : mapping, optional
            What the environment tells about the step besides the features (e.g.
            ``{"user": 17, "persona": 2}``); most agents ignore it.

        Returns
        -------
        int
            Index of the chosen arm.
        """
        features = self._check_features(feature_vectors)
        info = _check_info(info)
        arm, cache = self._decide(features, info)
        self._pending = _Decision(features.X, cache)
        return int(arm)

    def score(self, feature_vectors: torch.Tensor, info: Mapping[str, Any] | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Estimated mean and confidence width of every arm, without changing the agent.

        A UCB agent plays :math:`\argmax_a \text{mean}_a + \alpha\,\text{width}_a`
        (:mod:`bandits_lib.exploration`); ``alpha * width`` is its exploration bonus.

        Returns
        -------
        mean, width : torch.Tensor, each shape (n_arms,)
        """
        mean, width, _ = self._score_arms(self._check_features(feature_vectors), _check_info(info))
        return mean.detach().clone(), width.detach().clone()

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None:
        """Learn from the reward of ``chosen_arm`` (after exactly one ``predict``).

        Parameters
        ----------
        chosen_arm : int
            Index, in the last ``predict``'s feature_vectors, of the arm played.
        feature_vector : torch.Tensor, shape (feature_dim,)
            That arm's row of the last ``predict``'s feature_vectors.
        reward : float
            Observed reward (finite).
        """
        if self._pending is None:
            raise ValueError("update() needs a preceding predict(): call predict(feature_vectors) first")
        X = self._pending.features
        arm = check_int("chosen_arm", chosen_arm)
        if not 0 <= arm < X.shape[0]:
            raise ValueError(f"chosen_arm must be in [0, {X.shape[0]}) (rows of the last predict), got {arm}")
        if _is_row_view(feature_vector, X, arm):
            x = feature_vector  # the very memory of that (validated) row: equal by construction
        else:
            x = X[arm]
            # Anything but the row itself is checked in full.
            if not (isinstance(feature_vector, torch.Tensor) and feature_vector.shape == x.shape
                    and feature_vector.dtype == x.dtype and feature_vector.device == x.device
                    and torch.equal(feature_vector, x)):
                x = check_vector("feature_vector", feature_vector, length=self.feature_dim, device=self.device,
                                 max_abs=MAX_ABS_INPUT)
            if not torch.equal(x, X[arm]):
                raise ValueError(
                    "feature_vector must equal row chosen_arm of the feature_vectors passed to the last predict()"
                )
        r = check_reward("reward", reward, max_abs=MAX_ABS_INPUT)
        self._learn(arm, x, r, self._pending.cache)
        self._pending = None
        self.t += 1

    # -------------------------------------------------------------- the decision
    def _decide(self, features: _CheckedFeatures, info: Mapping[str, Any]) -> tuple[int, Any]:
        if self.scores_rows and self._rule.rows_suffice:
            # Rows are in order of first appearance: the first arm of the best row is the
            # arm the rule would pick among all arms (see _RowGroups).
            mean, width, cache = self._score_rows(features, info)
            return features.groups().first_arm[self._rule.choose(mean, width, self.alpha, self._rng)], cache
        mean, width, cache = self._score_arms(features, info)
        return self._rule.choose(mean, width, self.alpha, self._rng), cache

    def _score_arms(self, features: _CheckedFeatures, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        if not self.scores_rows:
            return self._score(features, info)
        mean, width, cache = self._score_rows(features, info)
        inverse = features.groups().inverse
        return mean[inverse], width[inverse], cache

    def _score(self, features: _CheckedFeatures, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _score_rows(self, features: _CheckedFeatures, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    # -------------------------------------------------------------- helpers
    def _check_features(self, feature_vectors: torch.Tensor) -> _CheckedFeatures:
        entry = self._checked.get(feature_vectors)
        if entry is not None:
            return entry
        X = check_matrix("feature_vectors", feature_vectors, n_cols=self.feature_dim, device=self.device,
                         max_abs=MAX_ABS_INPUT)
        if self.n_arms is not None and X.shape[0] != self.n_arms:
            raise ValueError(
                f"feature_vectors must have one row per arm ({self.n_arms}), got {X.shape[0]} rows"
            )
        entry = _CheckedFeatures(feature_vectors, X)
        self._checked.put(entry)
        return entry

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything learned: network parameters, optimiser state, the kept :math:`A^{-1}`
        (or diag A, or the per-arm ridge), step counters and random generator states (copies).

        Refused between ``predict`` and ``update``: the pending decision holds
        intermediate tensors that are not part of the learned state; call ``update`` first.
        """
        if self._pending is not None:
            raise CheckpointError(
                f"cannot checkpoint {type(self).__name__} between predict() and update(): "
                "the pending decision is not part of the learned state; call update() first"
            )
        return super().state_dict()

    def load_state_dict(self, state: Mapping[str, Any], source: str = "state") -> None:
        """Replace the learned state by ``state``, all or nothing (a pending ``predict`` is discarded)."""
        super().load_state_dict(state, source)
        self._pending = None


def _check_info(info: object) -> Mapping[str, Any]:
    if info is None:
        return _NO_INFO
    if not isinstance(info, Mapping):
        raise TypeError(f"info must be a mapping such as {{'user': 17}} or None, got {type(info).__name__}")
    return info


_NO_INFO: Mapping[str, Any] = {}
