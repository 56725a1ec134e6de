"""The simulated pet shop: catalogue, personas, clicks and the market shock.

``ZooplusSimulator`` reproduces the draft's simulator draw for draw: the same seed and
the same sequence of calls give the same catalogue, the same persona for every user,
the same users and the same clicks. On top of that it offers the vectorised views the
experiments need (the persona x product CTR matrix, the oracle CTR) and an
:class:`InteractionStream`: the users and uniforms of a whole run drawn once, so that
every agent compared meets identical users *and* identical click outcomes (common
random numbers).

Taught in: chapters/01_static_recommender (the simulator), chapters/03_6_showdown
(common random numbers).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_int
from ..checkpoint import CheckpointError, Stateful
from ..params import Configurable

#: Product categories, in the order the catalogue is built and features are encoded.
CATEGORIES: tuple[str, ...] = ("Fish Supplies", "Cat Food", "Dog Food", "Dog Toy", "Cat Toy")

#: Click-through rate of each persona for each category (the simulator's ground truth).
BASE_PERSONAS: dict[str, dict[str, float]] = {
    "new_puppy_parent": {"Dog Food": 0.40, "Dog Toy": 0.50, "Cat Food": 0.10, "Cat Toy": 0.05, "Fish Supplies": 0.02},
    "cat_connoisseur": {"Dog Food": 0.05, "Dog Toy": 0.02, "Cat Food": 0.55, "Cat Toy": 0.45, "Fish Supplies": 0.05},
    "budget_shopper": {"Dog Food": 0.25, "Dog Toy": 0.15, "Cat Food": 0.40, "Cat Toy": 0.20, "Fish Supplies": 0.20},
    "fish_hobbyist": {"Dog Food": 0.02, "Dog Toy": 0.02, "Cat Food": 0.10, "Cat Toy": 0.08, "Fish Supplies": 0.60},
}

#: The four personas users are drawn from, in the simulator's order.
PERSONAS: tuple[str, ...] = tuple(BASE_PERSONAS)

#: The market shock: the puppy parent turns to fish.
SHOCKED_PERSONA = "new_puppy_parent"
SHOCK_PREFERENCES: dict[str, float] = {
    "Dog Food": 0.05, "Dog Toy": 0.10, "Cat Food": 0.01, "Cat Toy": 0.02, "Fish Supplies": 0.60,
}

#: CTR of a category missing from a persona's preferences (as in the draft).
DEFAULT_CTR = 0.01

#: Largest catalogue and population accepted (beyond, building them would exhaust memory).
MAX_SHOP_SIZE = 10_000_000
#: Longest stream :meth:`ZooplusSimulator.draw_stream` draws (24 bytes a step; about 10 GB here).
MAX_INTERACTIONS = 400_000_000


def _check_size(name: str, value: object, maximum: int, minimum: int = 1) -> int:
    value = check_int(name, value, minimum=minimum)
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum:,}, got {value:,}")
    return value


class ZooplusSimulator(Configurable, Stateful):
    """A pet shop with ``n_products`` products and ``n_users`` users of four personas.

    Parameters
    ----------
    n_products : int, default 50
        Catalogue size. Categories are balanced (``n_products // 5`` each), the
        remainder is drawn at random, and the list is shuffled.
    n_users : int, default 1000
        Number of users; each is assigned a persona uniformly at random.
    seed : int, default 42
        Seed of the ``numpy.random.Generator`` behind every random draw.

    Attributes
    ----------
    products : pandas.DataFrame
        Indexed by ``product_id`` (0..n_products-1) with a ``category`` column.
    personas : dict[str, dict[str, float]]
        Persona -> {category: true CTR}. ``introduce_market_shock`` changes it.
    personas_before_shock : dict or None
        The preferences before the market shock (``None`` until it happens).
    user_to_persona_map : dict[int, str]
        User id -> persona name.

    Examples
    --------
    >>> sim = ZooplusSimulator(n_products=50, seed=42)
    >>> sim.products.shape, len(sim.user_to_persona_map)
    ((50, 1), 1000)
    >>> 0.0 < sim.get_true_ctr(0, 0) < 1.0
    True
    """

    def __init__(self, n_products: int = 50, n_users: int = 1000, seed: int = 42) -> None:
        self.n_products = _check_size("n_products", n_products, MAX_SHOP_SIZE)
        self.n_users = _check_size("n_users", n_users, MAX_SHOP_SIZE)
        self.seed = check_int("seed", seed, minimum=0)
        self.rng = np.random.default_rng(self.seed)
        # The order of the draws below is the draft's: catalogue, then personas.
        self.products = self._create_product_catalog()
        self.personas: dict[str, dict[str, float]] = copy.deepcopy(BASE_PERSONAS)
        self.user_to_persona_map: dict[int, str] = self._assign_users_to_personas()
        self.shocked = False
        self.personas_before_shock: dict[str, dict[str, float]] | None = None
        self._category_index = np.array([CATEGORIES.index(c) for c in self.products["category"]])
        self._user_persona_index = np.array(
            [PERSONAS.index(self.user_to_persona_map[u]) for u in range(self.n_users)]
        )

    # ------------------------------------------------------------------ catalogue
    def _create_product_catalog(self) -> pd.DataFrame:
        per_category = self.n_products // len(CATEGORIES)
        categories = [c for c in CATEGORIES for _ in range(per_category)]
        categories.extend(self.rng.choice(list(CATEGORIES), self.n_products - len(categories)))
        shuffled = [str(c) for c in self.rng.permutation(categories)]
        frame = pd.DataFrame({"product_id": range(self.n_products), "category": shuffled})
        return frame.set_index("product_id")

    def _assign_users_to_personas(self) -> dict[int, str]:
        # One vectorised draw consumes the generator exactly like the draft's
        # per-user loop of rng.choice(names) (checked in the tests).
        drawn = self.rng.choice(list(PERSONAS), size=self.n_users)
        return {user: str(name) for user, name in enumerate(drawn)}

    # ------------------------------------------------------------------ ground truth
    def get_true_ctr(self, user_id: int, product_id: int) -> float:
        """Noise-free click probability of ``user_id`` for ``product_id``.

        Raises ``ValueError`` for an unknown user or product (the draft silently
        returned 0.0, which hides bugs).
        """
        user_id = self._check_user(user_id)
        product_id = self._check_product(product_id)
        persona = self.user_to_persona_map[user_id]
        category = self.products.loc[product_id, "category"]
        return float(self.personas[persona].get(category, DEFAULT_CTR))

    def ctr_matrix(self, personas: dict[str, dict[str, float]] | None = None) -> np.ndarray:
        """True CTR of every persona for every product.

        Parameters
        ----------
        personas : dict, optional
            Preferences to use instead of ``self.personas`` (e.g. the shocked ones).

        Returns
        -------
        numpy.ndarray, shape (n_personas, n_products)
            Row ``i`` belongs to ``PERSONAS[i]``; reflects a market shock if one happened.
        """
        personas = self.personas if personas is None else personas
        table = np.array([[personas[p].get(c, DEFAULT_CTR) for c in CATEGORIES] for p in PERSONAS])
        return table[:, self._category_index]

    def oracle_ctr(self) -> np.ndarray:
        """Best achievable CTR per persona, shape (n_personas,): ``ctr_matrix().max(1)``."""
        return self.ctr_matrix().max(axis=1)

    def persona_index(self, user_ids: np.ndarray | int) -> np.ndarray:
        """Index into ``PERSONAS`` of each user id (vectorised)."""
        return self._user_persona_index[np.asarray(user_ids)]

    @property
    def category_index(self) -> np.ndarray:
        """Index into ``CATEGORIES`` of each product, shape (n_products,)."""
        return self._category_index.copy()

    # ------------------------------------------------------------------ interaction
    def get_reward(self, user_id: int, product_id: int) -> int:
        """Draw a click (1) or no click (0) for ``user_id`` shown ``product_id``."""
        return int(self.rng.binomial(1, self.get_true_ctr(user_id, product_id)))

    def get_random_user(self) -> int:
        """Draw the next visiting user uniformly from the population."""
        return int(self.rng.integers(0, self.n_users))

    def shocked_ctr_matrix(self) -> np.ndarray:
        """``ctr_matrix()`` as it will be after ``introduce_market_shock()``, shape (n_personas, n_products)."""
        return self.ctr_matrix({**self.personas, SHOCKED_PERSONA: SHOCK_PREFERENCES})

    def introduce_market_shock(self) -> None:
        """The new puppy parent suddenly prefers fish supplies (and little else)."""
        if not self.shocked:
            self.personas_before_shock = copy.deepcopy(self.personas)
        self.personas[SHOCKED_PERSONA] = dict(SHOCK_PREFERENCES)
        self.shocked = True

    def draw_stream(self, n_interactions: int) -> InteractionStream:
        """Draw the users and click uniforms of ``n_interactions`` steps at once.

        Each step consumes the generator exactly as ``get_random_user()`` followed by
        ``get_reward(...)`` does: numpy's ``binomial(1, p)`` draws one uniform ``u``
        whatever ``p`` is (for ``0 < p < 1``), so the click can be decided later, for
        any arm, by :func:`click_from_uniform`. Running every agent on the same stream
        gives common random numbers *and* the draft's own sequence of users (and of
        clicks, for every arm whose CTR is at most 0.5).
        """
        n_interactions = _check_size("n_interactions", n_interactions, MAX_INTERACTIONS, minimum=0)
        users = np.empty(n_interactions, dtype=np.int64)
        uniforms = np.empty(n_interactions, dtype=np.float64)
        integers, random = self.rng.integers, self.rng.random
        for t in range(n_interactions):
            users[t] = integers(0, self.n_users)
            uniforms[t] = random()
        return InteractionStream(users=users, personas=self.persona_index(users), uniforms=uniforms)

    # ------------------------------------------------------------------ checkpoints
    # The catalogue and the users follow from the seed; the state is the generator,
    # the preferences and the shock (save / load / restore come from Stateful).
    _transient_attributes = frozenset({"products", "user_to_persona_map", "_category_index", "_user_persona_index"})

    def load_state_dict(self, state: Mapping[str, Any], source: str = "state") -> None:
        """Apply a :meth:`state_dict` of the same shop, all or nothing (``ValueError`` otherwise)."""
        attributes = state.get("attributes", {}) if isinstance(state, Mapping) else {}
        for key in ("personas", "personas_before_shock"):
            if attributes.get(key) is not None:
                _check_preferences(attributes[key], f"{source}: {key}")
        super().load_state_dict(state, source)

    # ------------------------------------------------------------------ checks
    def _check_user(self, user_id: object) -> int:
        user_id = check_int("user_id", user_id)
        if not 0 <= user_id < self.n_users:
            raise ValueError(f"user_id must be in [0, {self.n_users}), got {user_id}")
        return user_id

    def _check_product(self, product_id: object) -> int:
        product_id = check_int("product_id", product_id)
        if not 0 <= product_id < self.n_products:
            raise ValueError(f"product_id must be in [0, {self.n_products}), got {product_id}")
        return product_id


@dataclass(frozen=True, repr=False)
class InteractionStream(Configurable, Stateful):
    """The randomness of one run, shared by every agent compared.

    Attributes
    ----------
    users : numpy.ndarray of int, shape (T,)
        Visiting user at each step.
    personas : numpy.ndarray of int, shape (T,)
        Index into ``PERSONAS`` of each visiting user.
    uniforms : numpy.ndarray of float, shape (T,)
        The uniform that decides the click at each step, whatever the arm.
    """

    users: np.ndarray
    personas: np.ndarray
    uniforms: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, index: slice) -> InteractionStream:
        """The steps ``index`` (a slice) of the stream, e.g. ``stream[t:]`` to resume a run at step ``t``."""
        if not isinstance(index, slice):
            raise TypeError(f"index must be a slice such as stream[t:], got {type(index).__name__}")
        return InteractionStream(users=self.users[index], personas=self.personas[index], uniforms=self.uniforms[index])

    def __post_init__(self) -> None:
        lengths = set()
        for name, kind in (("users", np.integer), ("personas", np.integer), ("uniforms", np.floating)):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.ndim != 1 or not np.issubdtype(value.dtype, kind):
                raise ValueError(f"{name} must be a 1-D numpy array of {kind.__name__}, got {value!r:.80}")
            lengths.add(len(value))
        if len(lengths) != 1:
            raise ValueError(f"users, personas and uniforms must have the same length, got {sorted(lengths)}")

    def __repr__(self) -> str:
        return f"InteractionStream({len(self)} steps)"


def _check_preferences(value: Any, where: str) -> None:
    if not isinstance(value, dict) or list(value) != list(PERSONAS):
        raise CheckpointError(f"{where}: expected preferences of the personas {PERSONAS}")
    for persona, prefs in value.items():
        if not isinstance(prefs, dict) or not set(prefs) <= set(CATEGORIES):
            raise CheckpointError(f"{where}[{persona!r}]: expected a dict of categories of {CATEGORIES}")
        for category, ctr in prefs.items():
            if not isinstance(ctr, float) or not 0.0 <= ctr <= 1.0:
                raise CheckpointError(f"{where}[{persona!r}][{category!r}]: expected a CTR in [0, 1], got {ctr!r}")


def click_from_uniform(uniform: np.ndarray | float, ctr: np.ndarray | float) -> np.ndarray:
    r"""The click of an arm with true CTR ``ctr`` at a step whose uniform is ``uniform``.

    One monotone rule for every arm: click iff :math:`u > 1 - \mathrm{CTR}` (equivalently
    :math:`1 - u < \mathrm{CTR}`), so at a given step every arm with a higher CTR clicks
    whenever one with a lower CTR does. That is what makes sharing the uniform across
    agents *common random numbers*: the same arm gets the same click, and different
    arms are positively coupled. The threshold is computed as ``exp(log(1 - ctr))``,
    exactly as numpy's ``Generator.binomial(1, ctr)`` computes it for ``ctr <= 0.5``,
    so for every arm with CTR at most 0.5 the click equals the draft's own
    ``rng.binomial`` draw. (Above 0.5 numpy switches to ``u <= ctr``; copying that
    switch would couple arms on either side of 0.5 in *opposite* directions and make a
    comparison noisier than independent draws -- Chapter 3 measures it.)

    Examples
    --------
    >>> bool(click_from_uniform(0.99, 0.02)), bool(click_from_uniform(0.5, 0.02))
    (True, False)
    >>> bool(click_from_uniform(0.5, 0.6)), bool(click_from_uniform(0.3, 0.6))
    (True, False)
    """
    lower, upper = click_thresholds(ctr)
    uniform = np.asarray(uniform)
    return (uniform > lower) & (uniform <= upper)


def click_thresholds(ctr: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` with click iff ``lower < u <= upper`` (see :func:`click_from_uniform`).

    ``lower = exp(log(1 - ctr))`` (1 for ``ctr = 0``: never; -inf for ``ctr = 1``: always)
    and ``upper = +inf``.
    """
    ctr = np.asarray(ctr, dtype=np.float64)
    lower = np.vectorize(lambda p: math.exp(math.log(1.0 - p)) if p < 1.0 else -math.inf, otypes=[float])(ctr)
    return lower, np.full_like(lower, np.inf)
