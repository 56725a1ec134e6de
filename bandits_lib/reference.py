r"""Straightforward reference implementations, written the way the draft wrote them.

Slow and obviously correct: a fresh ``torch.inverse`` of the confidence matrix at
every step, one backward pass per arm, per-arm ``numpy.linalg.solve`` and ``inv``,
pandas feature frames rebuilt at every step. They exist to be compared with: the tests
check the library's fast agents against them, the benchmarks measure the speed-up of
each fast path side by side, and Chapter 3 times one step of the draft's full NeuralUCB.
Do not use them for experiments.

:class:`ReferenceNeuralUCBDiag` is of another kind: NeuralUCB the way the authors' public
code runs it (``NeuralUCBDiag``), written from its described behaviour, for side-by-side
runs against the library's training schedules (``benchmarks/neuralucb_training.py``). It
differs from :class:`~bandits_lib.agents.NeuralUCBAgent` in *training* only: network
``Linear(d, m) -> ReLU -> Linear(m, 1)``; ``U = lambda * ones(p)``; score
:math:`f(x_a) + \sqrt{\sum_j \lambda\nu\, g_{a,j}^2 / U_j}` with the plain gradient
(one backward pass per arm), ``U += g * g`` after the decision; training at every round
while :math:`t < 2000`, then when :math:`t \bmod 100 = 0`: the chosen context and reward
join the history (on training rounds only), then plain SGD (learning rate ``1e-2``,
``weight_decay = lambda``) on one sample at a time, over the history in one shuffled order,
until 1,000 single-sample steps or a pass's mean loss ``<= 1e-3``. Two backends run that
loop: ``"torch"`` (the authors' way, ~130 ms per round while :math:`t < 2000`) and
``"numba"`` (the same single-sample float32 updates compiled, ~100x faster; equal to
float32 rounding on a round, tested).

(The draft's own code also had bugs -- update() signatures that differ between agents,
an unused ``b`` vector, a fifth persona in one feature helper. These references keep the
algorithms and drop the bugs; all share the library's
``update(chosen_arm, feature_vector, reward)``.)

Taught in: chapters/03_5_cost_of_exploration, chapters/03_4_online_learning (draft_loop), benchmarks/,
chapters/03_6_showdown (the authors' NeuralUCBDiag).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ._validation import check_choice, check_float, check_int
from .agents.base import BanditAgent
from .envs.features import create_feature_vectors
from .envs.simulator import ZooplusSimulator
from .jacobian import jacobian_loop, jacobian_vmap
from .networks import EmbeddingNetwork, NeuralBanditNetwork, count_parameters, make_mlp, seeded_generator
from .training import HistoryBuffer


class ReferenceLinUCBAgent:
    """Disjoint LinUCB with a Python loop over arms, ``solve`` and ``inv`` per arm per step."""

    def __init__(self, n_arms: int, feature_dim: int, alpha: float = 1.0, lambda_: float = 1.0) -> None:
        self.alpha = alpha
        self.A = [lambda_ * np.identity(feature_dim) for _ in range(n_arms)]
        self.b = [np.zeros(feature_dim) for _ in range(n_arms)]

    def ucb_components(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X = np.asarray(feature_vectors, dtype=np.float64)
        exploit, bonus = np.zeros(len(X)), np.zeros(len(X))
        for a, x in enumerate(X):
            theta = np.linalg.solve(self.A[a], self.b[a])
            exploit[a] = x @ theta
            bonus[a] = self.alpha * np.sqrt(x @ np.linalg.inv(self.A[a]) @ x)
        return torch.from_numpy(exploit), torch.from_numpy(bonus)

    def predict(self, feature_vectors: torch.Tensor) -> int:
        exploit, bonus = self.ucb_components(feature_vectors)
        return int(np.argmax((exploit + bonus).numpy()))

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None:
        x = np.asarray(feature_vector, dtype=np.float64)
        self.A[chosen_arm] += np.outer(x, x)
        self.b[chosen_arm] += reward * x


class ReferenceNeuralUCBAgent:
    """NeuralUCB as the draft wrote it: ``torch.inverse(A)`` and a fresh Jacobian every step.

    ``confidence="diagonal"`` keeps the full ``A`` but uses only its diagonal (the
    straightforward version of the diagonal approximation). ``jacobian`` is "loop" (one
    backward pass per arm) or "vmap". After the ``A`` update, one Adam step on the MSE
    through autograd, as in the draft.
    """

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int] = (128, 64), lambda_: float = 1.0,
                 alpha: float = 1.0, lr: float = 1e-3, confidence: str = "full", jacobian: str = "loop",
                 seed: int | None = None, dtype: torch.dtype = torch.float32) -> None:
        self.alpha, self.confidence, self.jacobian = alpha, confidence, jacobian
        self.model = NeuralBanditNetwork(feature_dim, hidden_dims, seed=seed)
        self.p = sum(p.numel() for p in self.model.parameters())
        self.A = torch.eye(self.p, dtype=dtype) * lambda_
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.last_jacobian: torch.Tensor | None = None

    def ucb_components(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            exploit = self.model(feature_vectors)[:, 0]
        J = (jacobian_loop if self.jacobian == "loop" else jacobian_vmap)(self.model, feature_vectors)
        self.last_jacobian = J
        Jd = J.to(self.A.dtype)
        if self.confidence == "full":
            A_inv = torch.inverse(self.A)
            squared = torch.stack([g @ A_inv @ g for g in Jd])
        else:
            squared = torch.stack([(g * g / torch.diagonal(self.A)).sum() for g in Jd])
        return exploit, self.alpha * torch.sqrt(torch.clamp(squared, min=0.0)).to(exploit.dtype)

    def predict(self, feature_vectors: torch.Tensor) -> int:
        exploit, bonus = self.ucb_components(feature_vectors)
        return int(torch.argmax(exploit + bonus))

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None:
        g = self.last_jacobian[chosen_arm].to(self.A.dtype)
        self.A += torch.outer(g, g)
        self.optimizer.zero_grad()
        loss = nn.functional.mse_loss(self.model(feature_vector.unsqueeze(0)), torch.tensor([[float(reward)]]))
        loss.backward()
        self.optimizer.step()


class ReferenceLastLayerNeuralUCBAgent:
    """The draft's practical NeuralUCB: ``torch.inverse`` of the e x e matrix every step."""

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int] = (128, 64), embedding_dim: int = 64,
                 lambda_: float = 1.0, alpha: float = 1.0, lr: float = 1e-3, seed: int | None = None) -> None:
        self.alpha = alpha
        self.model = EmbeddingNetwork(feature_dim, hidden_dims, embedding_dim, seed=seed)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.A = lambda_ * torch.eye(embedding_dim, dtype=torch.float64)
        self.last_embeddings: torch.Tensor | None = None

    def ucb_components(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            out = self.model(feature_vectors)
        z = out["embedding"]
        self.last_embeddings = z
        zd = z.double()
        squared = torch.einsum("ij,jk,ik->i", zd, torch.inverse(self.A), zd)
        return out["prediction"][:, 0], self.alpha * torch.sqrt(torch.clamp(squared, min=0.0)).float()

    def predict(self, feature_vectors: torch.Tensor) -> int:
        exploit, bonus = self.ucb_components(feature_vectors)
        return int(torch.argmax(exploit + bonus))

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None:
        z = self.last_embeddings[chosen_arm].double()
        self.A += torch.outer(z, z)
        self.optimizer.zero_grad()
        prediction = self.model(feature_vector.unsqueeze(0))["prediction"]
        nn.functional.mse_loss(prediction, torch.tensor([[float(reward)]])).backward()
        self.optimizer.step()


class ReferenceNeuralLinUCBAgent:
    """The draft's hybrid: per-arm numpy ``solve`` and ``inv`` in a Python loop every step."""

    def __init__(self, n_arms: int, feature_dim: int, hidden_dims: Sequence[int] = (128, 64),
                 embedding_dim: int = 32, lambda_: float = 1.0, alpha: float = 1.0, lr: float = 1e-3,
                 seed: int | None = None) -> None:
        self.alpha = alpha
        self.model = make_mlp(feature_dim, hidden_dims, embedding_dim, seeded_generator(seed))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.A = [lambda_ * np.identity(embedding_dim) for _ in range(n_arms)]
        self.b = [np.zeros(embedding_dim) for _ in range(n_arms)]
        self.last_embeddings: np.ndarray | None = None

    def ucb_components(self, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            Z = self.model(feature_vectors).double().numpy()
        self.last_embeddings = Z
        exploit, bonus = np.zeros(len(Z)), np.zeros(len(Z))
        for a, z in enumerate(Z):
            exploit[a] = z @ np.linalg.solve(self.A[a], self.b[a])
            bonus[a] = self.alpha * np.sqrt(z @ np.linalg.inv(self.A[a]) @ z)
        return torch.from_numpy(exploit), torch.from_numpy(bonus)

    def predict(self, feature_vectors: torch.Tensor) -> int:
        exploit, bonus = self.ucb_components(feature_vectors)
        return int(np.argmax((exploit + bonus).numpy()))

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None:
        z = self.last_embeddings[chosen_arm]
        self.A[chosen_arm] += np.outer(z, z)
        self.b[chosen_arm] += reward * z
        theta = torch.from_numpy(np.linalg.solve(self.A[chosen_arm], self.b[chosen_arm])).float()
        self.optimizer.zero_grad()
        prediction = self.model(feature_vector.unsqueeze(0))[0] @ theta
        ((prediction - float(reward)) ** 2).backward()
        self.optimizer.step()


def draft_loop(agent, simulator: ZooplusSimulator, n_interactions: int) -> list[int]:
    """The draft's main loop: pandas features rebuilt at every step, one agent, one world.

    Returns the list of rewards (clicks).
    """
    rewards = []
    for _ in range(n_interactions):
        user = simulator.get_random_user()
        features = create_feature_vectors(simulator.user_to_persona_map[user], simulator.products)
        arm = agent.predict(features)
        reward = simulator.get_reward(user, arm)
        agent.update(arm, features[arm], reward)
        rewards.append(reward)
    return rewards


# ---------------------------------------------------------------------------- the authors' NeuralUCBDiag
BACKENDS = ("torch", "numba")


@functools.cache
def _compiled_sgd():
    """The numba single-sample SGD loop (compiled on first use)."""
    import numba

    @numba.njit(nogil=True)
    def sgd_passes(W1, b1, W2, b2, X, R, order, lr, wd, max_steps, tolerance, z, delta):  # pragma: no cover
        # Same arithmetic as autograd + torch.optim.SGD(weight_decay) on (f(x) - r)^2, in float32.
        m, d = W1.shape
        n = order.shape[0]
        two = np.float32(2.0)
        count = 0
        total = 0.0
        while True:
            epoch = 0.0
            for k in range(n):
                i = order[k]
                out = b2[0]
                for j in range(m):  # forward
                    s = b1[j]
                    for q in range(d):
                        s += W1[j, q] * X[i, q]
                    z[j] = s
                    if s > 0:
                        out += W2[0, j] * s
                diff = out - R[i]
                loss = diff * diff
                g = two * diff  # d loss / d out
                for j in range(m):  # backward (with the weights before the step), then the step
                    delta[j] = g * W2[0, j] if z[j] > 0 else np.float32(0.0)
                for j in range(m):
                    a = z[j] if z[j] > 0 else np.float32(0.0)
                    W2[0, j] -= lr * (g * a + wd * W2[0, j])
                b2[0] -= lr * (g + wd * b2[0])
                for j in range(m):
                    dj = delta[j]
                    for q in range(d):
                        W1[j, q] -= lr * (dj * X[i, q] + wd * W1[j, q])
                    b1[j] -= lr * (dj + wd * b1[j])
                epoch += loss
                total += loss
                count += 1
                if count >= max_steps:
                    return total / max_steps, count
            if epoch / n <= tolerance:
                return epoch / n, count

    return sgd_passes


class ReferenceNeuralUCBDiag(BanditAgent):
    r"""NeuralUCBDiag as the authors' code runs it (see the module docstring).

    Parameters
    ----------
    feature_dim : int
        ``d``.
    width : int, default 100
        ``m``, the hidden layer.
    lambda_ : float, default 1e-3
        :math:`\lambda`: ``U = lambda * ones`` and SGD's weight decay.
    nu : float, default 1.0
        :math:`\nu` of the bonus.
    lr : float, default 1e-2
        SGD learning rate.
    max_steps : int, default 1000
        Single-sample steps per training round, at most.
    loss_tolerance : float, default 1e-3
        Stop a training round after a pass whose mean loss is at most this.
    dense_until : int, default 2000
        Train at every round ``t < dense_until`` ...
    train_every : int, default 100
        ... and afterwards at rounds ``t % train_every == 0``.
    seed : int or None
        Seed of the network initialisation and of the shuffles.
    backend : {"torch", "numba"}, default "torch"
        Who runs the training loop (same algorithm; see the module docstring).

    Attributes
    ----------
    model : NeuralBanditNetwork
    U : torch.Tensor, shape (p,)
    history : HistoryBuffer
        The stored (context, reward) pairs (training rounds only).
    n_train_steps : int
        Single-sample SGD steps taken so far.

    Examples
    --------
    >>> agent = ReferenceNeuralUCBDiag(3, width=4, max_steps=5, seed=0)
    >>> X = torch.eye(2, 3); arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.n_train_steps, len(agent.history)
    (5, 1)
    """

    def __init__(self, feature_dim: int, width: int = 100, lambda_: float = 1e-3, nu: float = 1.0, lr: float = 1e-2,
                 max_steps: int = 1000, loss_tolerance: float = 1e-3, dense_until: int = 2000, train_every: int = 100,
                 seed: int | None = None, backend: str = "torch") -> None:
        self.width = check_int("width", width, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.nu = check_float("nu", nu, minimum=0.0)
        self.lr = check_float("lr", lr, strictly_positive=True)
        self.max_steps = check_int("max_steps", max_steps, minimum=1)
        self.loss_tolerance = check_float("loss_tolerance", loss_tolerance, minimum=0.0)
        self.dense_until = check_int("dense_until", dense_until, minimum=0)
        self.train_every = check_int("train_every", train_every, minimum=1)
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        self.backend = check_choice("backend", backend, BACKENDS)
        super().__init__(feature_dim, "cpu")
        self.alpha = 1.0  # the bonus below is the whole width; UCB adds it as is
        self.model = NeuralBanditNetwork(self.feature_dim, (self.width,), seed=self.seed)
        self.p = count_parameters(self.model)
        self.U = torch.full((self.p,), self.lambda_)
        self.history = HistoryBuffer(self.feature_dim)
        self.rng = np.random.default_rng(self.seed)
        self.n_train_steps = 0
        self.last_loss: float | None = None

    # ---------------------------------------------------------------- decision
    def _score(self, features, info) -> tuple[torch.Tensor, torch.Tensor, Any]:
        X = features.X
        with torch.no_grad():
            mean = self.model(X)[:, 0]
        G = jacobian_loop(self.model, X)  # one backward pass per arm, as the authors' select()
        bonus = torch.sqrt((self.lambda_ * self.nu * G * G / self.U).sum(dim=1))
        return mean, bonus, G

    # ---------------------------------------------------------------- learning
    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        g = cache[arm]
        self.U += g * g
        t = self.t  # rounds completed before this one: the 0-based round index
        if t < self.dense_until or t % self.train_every == 0:
            self.history.append(x, reward, arm)
            self.train()

    def train(self) -> float:
        """One training round on the stored history (see the module docstring); returns its loss."""
        n = len(self.history)
        order = self.rng.permutation(n)
        if self.backend == "numba":
            loss, steps = self._train_numba(order)
        else:
            loss, steps = self._train_torch(order)
        self.n_train_steps += steps
        self.last_loss = float(loss)
        return self.last_loss

    def _train_torch(self, order: np.ndarray) -> tuple[float, int]:
        X, R = self.history.features, self.history.rewards
        optimizer = torch.optim.SGD(self.model.parameters(), lr=self.lr, weight_decay=self.lambda_)
        count, total = 0, 0.0
        while True:
            epoch = 0.0
            for i in order.tolist():
                optimizer.zero_grad()
                delta = self.model(X[i : i + 1]) - R[i]
                loss = delta * delta
                loss.backward()
                optimizer.step()
                value = loss.item()
                epoch += value
                total += value
                count += 1
                if count >= self.max_steps:
                    return total / self.max_steps, count
            if epoch / len(order) <= self.loss_tolerance:
                return epoch / len(order), count

    def _train_numba(self, order: np.ndarray) -> tuple[float, int]:
        layer, head = self.model.layers[0], self.model.output_layer
        arrays = [t.detach().numpy() for t in (layer.weight, layer.bias, head.weight, head.bias)]
        X = self.history.features.numpy()
        R = self.history.rewards.numpy()
        z = np.empty(self.width, dtype=np.float32)
        delta = np.empty(self.width, dtype=np.float32)
        loss, count = _compiled_sgd()(*arrays, X, R, order.astype(np.int64), np.float32(self.lr),
                                      np.float32(self.lambda_), self.max_steps, self.loss_tolerance, z, delta)
        return float(loss), int(count)

    def __repr__(self) -> str:
        return (f"ReferenceNeuralUCBDiag(feature_dim={self.feature_dim}, width={self.width}, lambda_={self.lambda_:g}, "
                f"nu={self.nu:g}, backend={self.backend!r})")
