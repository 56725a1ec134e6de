"""The interface every agent shares, and the checks behind it.

An agent answers ``predict(feature_vectors) -> arm`` and learns from
``update(chosen_arm, feature_vector, reward)``, exactly one update per predict. UCB
agents also expose ``ucb_components(feature_vectors) -> (exploitation, bonus)``,
computed without changing the agent, so the book can plot both terms.

Every public call validates its arguments *before* touching state: a rejected call
raises ``TypeError``/``ValueError`` naming the argument and leaves the agent exactly
as it was.

Taught in: chapters/03_4_online_learning (the interaction loop), chapters/appendix_performance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint as _checkpoint
from .._validation import MAX_ABS_INPUT, check_device, check_int, check_matrix, check_reward, check_vector


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


class BanditAgent:
    """Base class: validation and the predict/update protocol.

    Subclasses implement ``_decide(features) -> (arm, cache)`` (``features.X`` is the
    validated matrix, ``features.distinct()`` its distinct rows) and
    ``_learn(arm, x, reward, cache)``; they set ``feature_dim`` and, when the number
    of arms is fixed, ``n_arms``.
    """

    feature_dim: int
    n_arms: int | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> BanditAgent:
        # Record the constructor arguments, so that a checkpoint can rebuild the agent.
        self = super().__new__(cls)
        self._init_args = _checkpoint.capture_init_args(cls, args, kwargs)
        return self

    def __init__(self, feature_dim: int, device: torch.device | str = "cpu") -> None:
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.device = check_device("device", device)
        self.t = 0  # number of completed updates
        self._pending: _Decision | None = None
        self._checked = _FeatureChecks()

    # -------------------------------------------------------------- public API
    def predict(self, feature_vectors: torch.Tensor) -> int:
        """Choose an arm.

        Parameters
        ----------
        feature_vectors : torch.Tensor, shape (n_arms, feature_dim)
            One row per arm (the user's context against every product).

        Returns
        -------
        int
            Index of the chosen arm.
        """
        features = self._check_features(feature_vectors)
        arm, cache = self._decide(features)
        self._pending = _Decision(features.X, cache)
        return int(arm)

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

    def _decide(self, features: _CheckedFeatures) -> tuple[int, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this agent: hyperparameters and learned state (copies).

        Network parameters, optimiser state, the kept :math:`A^{-1}` (or diag A, or the
        per-arm ridge), step counters and random generator states, found by walking the
        agent's attributes (see :mod:`bandits_lib.checkpoint`). Refused between
        ``predict`` and ``update``.

        Returns
        -------
        dict
            Plain values and tensors only (safe for ``torch.load(weights_only=True)``).
        """
        return _checkpoint.agent_state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace this agent's state by ``state`` (from :meth:`state_dict` of the same class and hyperparameters).

        Every key, shape and dtype is checked before anything is changed: a
        ``ValueError`` (:class:`~bandits_lib.checkpoint.CheckpointError`) leaves the agent
        as it was. The device may differ. A pending ``predict`` is discarded.
        """
        _checkpoint.load_agent_state_dict(self, state)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint to ``path`` (atomically); :meth:`load` rebuilds the agent from it."""
        return _checkpoint.save_checkpoint(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> BanditAgent:
        """Rebuild an agent from the checkpoint at ``path``.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`; it must hold an agent of this class (or,
            from ``BanditAgent.load``, any agent class).
        device : str or torch.device, optional
            Where to put the loaded agent (default: the device it was saved from).
        simulator : ZooplusSimulator, optional
            The live simulator, for agents that read one (:class:`OracleAgent`).
        **expected
            Hyperparameters or attributes the checkpoint must have, e.g.
            ``feature_dim=9``; a mismatch raises ``ValueError``.

        Raises
        ------
        ValueError
            The file is truncated, corrupted, of another agent class or does not match
            ``expected`` (the message names the file and the problem).
        """
        return _checkpoint.load_agent(cls, path, **kwargs)

    def restore(self, path: str | os.PathLike) -> None:
        """Load the checkpoint at ``path`` into this agent (same class and hyperparameters), all or nothing."""
        _checkpoint.restore_agent(self, path)

    def __repr__(self) -> str:
        keys = ("n_arms", "feature_dim", "alpha", "lambda_", "lr", "confidence_mode", "epsilon")
        shown = {k.removesuffix("_mode"): getattr(self, k) for k in keys if hasattr(self, k)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class UCBAgent(BanditAgent):
    """An agent whose score is ``exploitation + exploration bonus``.

    Subclasses implement ``_components(features) -> (exploitation, bonus, cache)`` with
    ``exploitation`` and ``bonus`` of shape (n_arms,).
    """

    def ucb_components(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exploitation and exploration bonus of every arm, without changing the agent.

        Returns
        -------
        exploitation, bonus : torch.Tensor, each shape (n_arms,)
        """
        exploitation, bonus, _ = self._components(self._check_features(feature_vectors))
        return exploitation.detach().clone(), bonus.detach().clone()

    def _decide(self, features: _CheckedFeatures) -> tuple[int, Any]:
        exploitation, bonus, cache = self._components(features)
        return int(torch.argmax(exploitation + bonus)), cache

    def _components(self, features: _CheckedFeatures) -> tuple[torch.Tensor, torch.Tensor, Any]:  # pragma: no cover
        raise NotImplementedError
