"""The interface every agent shares, and the checks behind it.

An agent answers ``predict(feature_vectors) -> arm`` and learns from
``update(chosen_arm, feature_vector, reward)``, exactly one update per predict. UCB
agents also expose ``ucb_components(feature_vectors) -> (exploitation, bonus)``,
computed without changing the agent, so the book can plot both terms.

Every public call validates its arguments *before* touching state: a rejected call
raises ``TypeError``/``ValueError`` naming the argument and leaves the agent exactly
as it was.

Taught in: chapters/03_8_online_learning (the interaction loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._validation import check_device, check_int, check_matrix, check_reward, check_vector


@dataclass
class _Decision:
    """What ``predict`` remembers for the ``update`` that follows it."""

    features: torch.Tensor  # (n_arms, feature_dim) as validated
    cache: Any  # agent-specific quantities computed at predict time


class _CheckedFeatures:
    """A validated feature matrix, its distinct rows computed on first use."""

    __slots__ = ("source", "version", "X", "_distinct")

    def __init__(self, source: object, X: torch.Tensor) -> None:
        self.source = source
        self.version = source._version if isinstance(source, torch.Tensor) else None
        self.X = X
        self._distinct: tuple[torch.Tensor, torch.Tensor] | None = None

    def distinct(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Distinct rows (n_distinct, d) and each row's index among them (n_arms,)."""
        if self._distinct is None:
            self._distinct = torch.unique(self.X, dim=0, return_inverse=True)
        return self._distinct


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
        x = X[arm]
        # Fast path: the row itself (already validated). Anything else is checked in full.
        if not (isinstance(feature_vector, torch.Tensor) and feature_vector.shape == x.shape
                and feature_vector.dtype == x.dtype and feature_vector.device == x.device
                and torch.equal(feature_vector, x)):
            x = check_vector("feature_vector", feature_vector, length=self.feature_dim, device=self.device)
        if not torch.equal(x, X[arm]):
            raise ValueError(
                "feature_vector must equal row chosen_arm of the feature_vectors passed to the last predict()"
            )
        r = check_reward("reward", reward)
        self._learn(arm, x, r, self._pending.cache)
        self._pending = None
        self.t += 1

    # -------------------------------------------------------------- helpers
    def _check_features(self, feature_vectors: torch.Tensor) -> _CheckedFeatures:
        entry = self._checked.get(feature_vectors)
        if entry is not None:
            return entry
        X = check_matrix("feature_vectors", feature_vectors, n_cols=self.feature_dim, device=self.device)
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

    def __repr__(self) -> str:
        keys = [k for k in ("n_arms", "feature_dim", "alpha", "lambda_", "lr", "confidence", "epsilon") if hasattr(self, k)]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"


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
