"""Straightforward reference implementations, written the way the draft wrote them.

Slow and obviously correct: a fresh ``torch.inverse`` of the confidence matrix at
every step, one backward pass per arm, per-arm ``numpy.linalg.solve`` and ``inv``,
pandas feature frames rebuilt at every step. They exist to be compared with: the tests
check the library's fast agents against them, the benchmarks measure the speed-up of
each fast path side by side, and Chapter 3 times one step of the draft's full NeuralUCB.
Do not use them for experiments.

(The draft's own code also had bugs -- update() signatures that differ between agents,
an unused ``b`` vector, a fifth persona in one feature helper. These references keep the
algorithms and drop the bugs; all share the library's
``update(chosen_arm, feature_vector, reward)``.)

Taught in: chapters/03_5_cost_of_exploration, chapters/03_4_online_learning (draft_loop), benchmarks/.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .envs.features import create_feature_vectors
from .envs.simulator import ZooplusSimulator
from .jacobian import jacobian_loop, jacobian_vmap
from .networks import EmbeddingNetwork, NeuralBanditNetwork, make_mlp, seeded_generator


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
