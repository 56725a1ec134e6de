r"""The pet shop of Chapters 1-3 as an :class:`~bandits_lib.envs.Environment`.

A :class:`~bandits_lib.envs.ZooplusSimulator` (catalogue, personas, true CTRs) and an
:class:`~bandits_lib.envs.InteractionStream` (the visiting user and the click uniform of
every step, drawn once) make one run's world. The click of any arm at step ``t`` is
decided by the step's uniform (:func:`~bandits_lib.envs.click_from_uniform`), so every
agent played on the same environment meets the same users and, for the same arm, the
same clicks. With ``market_shock_at`` the new puppy parents turn to fish from that step on.

Taught in: chapters/03_4_online_learning (the interaction loop), chapters/03_6_showdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from .._validation import check_int
from .features import FEATURE_DIM, FeatureBuilder
from .simulator import CATEGORIES, PERSONAS, InteractionStream, ZooplusSimulator, click_thresholds


class PetShopEnvironment:
    """The pet shop, seen by the runner: features, per-step info, clicks and true CTRs.

    Parameters
    ----------
    n_interactions : int
        Horizon ``T``.
    seed : int, default 0
        Seed of the shop (catalogue, personas, users, clicks).
    n_products, n_users : int, default 50, 1000
        Size of the shop.
    market_shock_at : int, optional
        From this step on, the shocked preferences hold.

    Attributes
    ----------
    simulator : ZooplusSimulator
        The world (its generator has drawn the stream).
    stream : InteractionStream
        Users and click uniforms of the ``T`` steps.

    Notes
    -----
    ``info(t)`` is ``{"user", "persona", "expected_rewards"}``: the visiting user's id,
    the index of their persona in ``PERSONAS`` and every product's true CTR for them
    (for the oracle). The run table gets ``user`` and ``persona`` per step and the
    played product's ``category``.

    Examples
    --------
    >>> env = PetShopEnvironment(100, seed=0)
    >>> env.context(0).shape, len(env), sorted(env.info(0))
    (torch.Size([50, 9]), 100, ['expected_rewards', 'persona', 'user'])
    """

    feature_dim = FEATURE_DIM

    def __init__(self, n_interactions: int, seed: int = 0, n_products: int = 50, n_users: int = 1000,
                 market_shock_at: int | None = None) -> None:
        n_interactions = check_int("n_interactions", n_interactions, minimum=1)
        simulator = ZooplusSimulator(n_products=n_products, n_users=n_users, seed=seed)
        self._setup(simulator, simulator.draw_stream(n_interactions), market_shock_at)

    @classmethod
    def from_stream(cls, simulator: ZooplusSimulator, stream: InteractionStream,
                    market_shock_at: int | None = None) -> PetShopEnvironment:
        """The shop of ``simulator`` played along a given ``stream`` (e.g. the tail ``stream[t:]`` of a run).

        A simulator shocked before (``simulator.shocked``) is shocked from step 0.
        """
        if not isinstance(simulator, ZooplusSimulator):
            raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
        if not isinstance(stream, InteractionStream):
            raise TypeError(f"stream must be an InteractionStream, got {type(stream).__name__}")
        environment = cls.__new__(cls)
        environment._setup(simulator, stream, market_shock_at)
        return environment

    def _setup(self, simulator: ZooplusSimulator, stream: InteractionStream, market_shock_at: int | None) -> None:
        n = len(stream)
        if market_shock_at is not None:
            market_shock_at = check_int("market_shock_at", market_shock_at, minimum=0)
            if market_shock_at >= max(n, 1):
                raise ValueError(f"market_shock_at must be < n_interactions ({n}), got {market_shock_at}")
        if simulator.shocked:  # both phases are the shocked world
            before = after = simulator.ctr_matrix()
        else:
            before, after = simulator.ctr_matrix(), simulator.shocked_ctr_matrix()
        self.simulator, self.stream, self.market_shock_at = simulator, stream, market_shock_at
        self.n_arms = simulator.n_products
        self._shock_from = n if market_shock_at is None else market_shock_at
        builder = FeatureBuilder(simulator.products)
        # One tensor per persona, the same object at every visit (agents cache their checks by it).
        self._features = [builder.by_index[i] for i in range(len(PERSONAS))]
        self._ctr = (before, after)  # (n_personas, n_products) each
        self._ctr_lists = (before.tolist(), after.tolist())
        self._oracle = (before.max(axis=1).tolist(), after.max(axis=1).tolist())
        self._lower = tuple(click_thresholds(table)[0].tolist() for table in self._ctr)  # click iff u > lower
        self._users, self._personas = stream.users.tolist(), stream.personas.tolist()
        self._uniforms = stream.uniforms.tolist()

    def __len__(self) -> int:
        return len(self._users)

    def context(self, t: int) -> torch.Tensor:
        """Feature rows of the visiting user against every product, shape (n_products, 9). Do not modify."""
        return self._features[self._personas[t]]

    def info(self, t: int) -> dict[str, Any]:
        """``{"user", "persona", "expected_rewards"}`` of step ``t`` (see the class notes)."""
        persona = self._personas[t]
        return {"user": self._users[t], "persona": persona,
                "expected_rewards": self._ctr[t >= self._shock_from][persona]}

    def reward(self, t: int, arm: int) -> float:
        """The click (1.0 or 0.0) of product ``arm`` at step ``t``: ``u_t > 1 - CTR`` (computed as in numpy)."""
        return 1.0 if self._lower[t >= self._shock_from][self._personas[t]][arm] < self._uniforms[t] else 0.0

    def expected_reward(self, t: int, arm: int) -> float:
        """True CTR of product ``arm`` for the user of step ``t``."""
        return self._ctr_lists[t >= self._shock_from][self._personas[t]][arm]

    def oracle_reward(self, t: int) -> float:
        """Best true CTR available to the user of step ``t``."""
        return self._oracle[t >= self._shock_from][self._personas[t]]

    def step_columns(self) -> dict[str, Any]:
        """Per-step columns of the run table: ``user`` and ``persona`` (a categorical of names)."""
        return {"user": self.stream.users,
                "persona": pd.Categorical.from_codes(self.stream.personas, categories=list(PERSONAS))}

    def arm_columns(self) -> dict[str, Any]:
        """Per-product columns, looked up for the product played: its ``category``."""
        return {"category": pd.Categorical.from_codes(self.simulator.category_index, categories=list(CATEGORIES))}


__all__ = ["PetShopEnvironment"]
