r"""Retrieve, then re-rank: a neural bandit over a catalogue of 100,000+ products.

Scoring every product with NeuralUCB at every visit costs a forward pass, and a bonus,
per product. Large recommenders split the decision in two:

1. **Retrieval.** A cheap similarity between the user's and the products' embeddings
   picks the ``k`` best candidates. Here: the exact matrix product :math:`s = V u`
   (``n_products x e`` times ``e``) and ``torch.topk``.
2. **Re-ranking.** The bandit scores only those ``k`` candidates, with richer features,
   and explores among them.

:class:`SyntheticCatalogue` builds a catalogue with item embeddings and a click model
that the retrieval score explains only in part; :class:`RetrievalEnvironment` is one
user stream played through retrieval with a given ``k`` (``k = n_products`` is
exhaustive scoring). The re-ranker of the book is
:class:`~bandits_lib.agents.DiagonalNeuralUCBAgent`, NeuralUCB with the diagonal
confidence matrix, whose width it computes layer by layer without ever forming the
``k x p`` Jacobian, so that scoring 100,000 candidates stays affordable.

Taught in: chapters/04_4_scale.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._validation import check_float, check_int


class SyntheticCatalogue:
    r"""A large catalogue with item embeddings, a quality attribute and a click model.

    Products belong to ``n_clusters`` taste clusters; product ``i`` has a unit embedding
    :math:`v_i \in \mathbb R^e` near its cluster's centre and a quality
    :math:`q_i \sim \mathcal N(0, 1)`. A user has a unit embedding :math:`u` near one
    centre and a trait :math:`\rho \in \{0, 1\}` (cares about quality or not). The click
    probability is

    .. math:: \mu(u, \rho, i) = \sigma\big(a\, u^\top v_i + b\, \rho\, q_i - c\big),

    so the retrieval score :math:`s_i = u^\top v_i` ranks products well for users who do
    not care about quality and only in part for those who do; the re-ranker sees
    :math:`(s_i, q_i, \rho)` and must learn the interaction :math:`\rho q_i` from clicks.

    Parameters
    ----------
    n_products : int, default 100_000
    embedding_dim : int, default 16
    n_clusters : int, default 100
    a, b, c : float, default 2.0, 1.5, 3.5
        Weights of the click model.
    spread : float, default 0.35
        Spread of embeddings around their cluster centre.
    seed : int, default 0

    Attributes
    ----------
    V : torch.Tensor, shape (n_products, embedding_dim), float32
    quality : torch.Tensor, shape (n_products,), float32
    centres : numpy.ndarray, shape (n_clusters, embedding_dim)
    """

    def __init__(self, n_products: int = 100_000, embedding_dim: int = 16, n_clusters: int = 100,
                 a: float = 2.0, b: float = 1.5, c: float = 3.5, spread: float = 0.35, seed: int = 0) -> None:
        self.n_products = check_int("n_products", n_products, minimum=1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.n_clusters = check_int("n_clusters", n_clusters, minimum=1)
        self.a, self.b, self.c = (check_float(n, v) for n, v in (("a", a), ("b", b), ("c", c)))
        self.spread = check_float("spread", spread, minimum=0.0)
        self.seed = check_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        self.centres = _unit(rng.normal(size=(self.n_clusters, self.embedding_dim)))
        cluster = rng.integers(self.n_clusters, size=self.n_products)
        noise = rng.normal(size=(self.n_products, self.embedding_dim)) * self.spread / np.sqrt(self.embedding_dim)
        self.V = torch.from_numpy(_unit(self.centres[cluster] + noise).astype(np.float32))
        self.quality = torch.from_numpy(rng.normal(size=self.n_products).astype(np.float32))

    def draw_users(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` users: unit embeddings (n, e) and quality traits (n,) in {0, 1}."""
        rng = np.random.default_rng([check_int("seed", seed, minimum=0), 1])
        cluster = rng.integers(self.n_clusters, size=n)
        noise = rng.normal(size=(n, self.embedding_dim)) * self.spread / np.sqrt(self.embedding_dim)
        users = torch.from_numpy(_unit(self.centres[cluster] + noise).astype(np.float32))
        traits = torch.from_numpy(rng.integers(2, size=n).astype(np.float32))
        return users, traits

    def scores(self, user: torch.Tensor) -> torch.Tensor:
        """Retrieval scores :math:`s = V u` of every product, shape (n_products,)."""
        return self.V @ user

    def click_probability(self, scores: torch.Tensor, trait: float, items: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\mu` of the products ``items`` (default all) given their scores, shape like ``scores``."""
        quality = self.quality if items is None else self.quality[items]
        return torch.sigmoid(self.a * scores + self.b * trait * quality - self.c)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class RetrievalEnvironment:
    """One stream of users served by retrieval of ``k`` candidates, as an :class:`~bandits_lib.envs.Environment`.

    At step ``t`` the user's retrieval scores of all products are computed, the top ``k``
    become the arms (``k = n_products``: every product, no retrieval) and each candidate's
    feature row is :math:`(s_i, q_i, \\rho)`. The click is decided by the step's uniform
    (common random numbers across ``k``); the oracle is the best click probability in the
    *whole* catalogue. ``info(t)`` holds ``expected_rewards``, the candidates' click
    probabilities.

    Parameters
    ----------
    catalogue : SyntheticCatalogue
    k : int
        Number of candidates (1 .. n_products).
    n_steps : int
    seed : int
        Seed of the users and the click uniforms.
    """

    feature_dim = 3

    def __init__(self, catalogue: SyntheticCatalogue, k: int, n_steps: int, seed: int = 0) -> None:
        if not isinstance(catalogue, SyntheticCatalogue):
            raise TypeError(f"catalogue must be a SyntheticCatalogue, got {type(catalogue).__name__}")
        self.catalogue = catalogue
        self.k = check_int("k", k, minimum=1)
        if self.k > catalogue.n_products:
            raise ValueError(f"k must be <= n_products ({catalogue.n_products}), got {self.k}")
        self.n_arms = self.k
        self.n_steps = check_int("n_steps", n_steps, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.users, self.traits = catalogue.draw_users(self.n_steps, self.seed)
        self.uniforms = np.random.default_rng([self.seed, 2]).random(self.n_steps)
        self._step: int | None = None

    def __len__(self) -> int:
        return self.n_steps

    def retrieve(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores of all products and indices of the ``k`` candidates (by decreasing score)."""
        scores = self.catalogue.scores(self.users[t])
        if self.k == self.catalogue.n_products:
            return scores, torch.arange(self.k)
        return scores, torch.topk(scores, self.k, sorted=False).indices

    def _prepare(self, t: int) -> None:
        if self._step == t:
            return
        scores, candidates = self.retrieve(t)
        trait = float(self.traits[t])
        everything = self.catalogue.click_probability(scores, trait)
        exhaustive = self.k == self.catalogue.n_products
        self._candidates = candidates
        self._ctr = everything if exhaustive else everything[candidates]
        self._oracle = float(everything.max())
        self._features = torch.stack([scores if exhaustive else scores[candidates],
                                      self.catalogue.quality if exhaustive else self.catalogue.quality[candidates],
                                      torch.full((self.k,), trait)], dim=1)
        self._step = t

    def context(self, t: int) -> torch.Tensor:
        """Candidate features, shape (k, 3): retrieval score, quality, user trait."""
        self._prepare(t)
        return self._features

    def info(self, t: int) -> dict[str, Any]:
        """``{"expected_rewards"}``: the candidates' click probabilities, shape (k,)."""
        self._prepare(t)
        return {"expected_rewards": self._ctr}

    def item(self, t: int, arm: int) -> int:
        """Catalogue index of candidate ``arm`` at step ``t``."""
        self._prepare(t)
        return int(self._candidates[arm])

    def expected_reward(self, t: int, arm: int) -> float:
        self._prepare(t)
        return float(self._ctr[arm])

    def reward(self, t: int, arm: int) -> float:
        return float(self.uniforms[t] < self.expected_reward(t, arm))

    def oracle_reward(self, t: int) -> float:
        self._prepare(t)
        return self._oracle


def best_in_top_k(catalogue: SyntheticCatalogue, users: torch.Tensor, traits: torch.Tensor, ks: Sequence[int],
                  batch: int = 64) -> dict[int, np.ndarray]:
    """For every user, the best click probability among its top ``k`` products by retrieval score.

    The *retrieval ceiling*: no re-ranker shown only those ``k`` candidates can do better.
    ``k = n_products`` gives the oracle; ``oracle - best_in_top_k[k]`` is the regret that
    retrieval alone forces on a perfect re-ranker.

    Parameters
    ----------
    catalogue : SyntheticCatalogue
    users : torch.Tensor, shape (n, embedding_dim)
    traits : torch.Tensor, shape (n,)
    ks : sequence of int
        Candidate counts (1 .. n_products).
    batch : int, default 64
        Users scored at once (memory ``batch x n_products``).

    Returns
    -------
    dict mapping each k to a numpy.ndarray of shape (n,)
    """
    ks = [check_int("ks[i]", k, minimum=1) for k in ks]
    if max(ks) > catalogue.n_products:
        raise ValueError(f"ks must be <= n_products ({catalogue.n_products}), got {max(ks)}")
    batch = check_int("batch", batch, minimum=1)
    out = {k: np.empty(len(users)) for k in ks}
    for start in range(0, len(users), batch):
        scores = users[start:start + batch] @ catalogue.V.T  # (b, n_products)
        mu = torch.sigmoid(catalogue.a * scores + catalogue.b * traits[start:start + batch, None] * catalogue.quality
                           - catalogue.c)
        for k in ks:
            top = mu if k == catalogue.n_products else torch.gather(mu, 1, torch.topk(scores, k, dim=1).indices)
            out[k][start:start + batch] = top.max(dim=1).values.numpy()
    return out


def time_decisions(environment: RetrievalEnvironment, agent: Any, steps: Sequence[int]) -> dict[str, float]:
    """Median wall time (ms) of retrieval and of re-ranking over the given steps (the agent learns nothing).

    Retrieval is the score product and the top-k; re-ranking is the agent's scoring
    of the ``k`` candidates and its UCB choice (``agent.score`` and argmax, no update).
    """
    retrieval, rerank = [], []
    for t in steps:
        begin = time.perf_counter()
        scores, candidates = environment.retrieve(t)
        X = torch.stack([scores[candidates], environment.catalogue.quality[candidates],
                         torch.full((environment.k,), float(environment.traits[t]))], dim=1)
        middle = time.perf_counter()
        mean, width = agent.score(X)
        int(torch.argmax(mean + agent.alpha * width))
        end = time.perf_counter()
        retrieval.append(middle - begin)
        rerank.append(end - middle)
    return {"retrieval_ms": 1e3 * float(np.median(retrieval)), "rerank_ms": 1e3 * float(np.median(rerank))}


__all__ = ["SyntheticCatalogue", "RetrievalEnvironment", "best_in_top_k", "time_decisions"]
