r"""NeuralUCB the way the authors' public code runs it (``NeuralUCBDiag``), written from its described behaviour.

Zhou, Li and Gu's code (``learner_diag.py``, ``train.py``) differs from the library's
:class:`~bandits_lib.agents.NeuralUCBAgent` in *training* only (with identical weights the
bonus and mean agree to 2e-7). :class:`ReferenceNeuralUCBDiag` reproduces it, for side-by-side
runs (``benchmarks/neuralucb_training.py``):

* network ``Linear(d, m) -> ReLU -> Linear(m, 1)``, PyTorch's default initialisation
  (:class:`~bandits_lib.networks.NeuralBanditNetwork` with ``hidden_dims=(m,)``: the same
  scheme, from a seeded generator);
* ``U = lambda * ones(p)``; score of arm :math:`a`:
  :math:`f(x_a) + \sqrt{\sum_j \lambda\nu\, g_{a,j}^2 / U_j}` with :math:`g_a` the plain
  gradient of the output (one backward pass per arm); after the decision
  ``U += g * g`` for the chosen arm's decision-time gradient;
* training, at every round while :math:`t < 2000`, afterwards when :math:`t \bmod 100 = 0`:
  the chosen context and reward are appended to the history (only on training rounds),
  then plain SGD (learning rate ``1e-2``, ``weight_decay = lambda``: decay towards zero)
  on the squared error of *one* sample at a time, passing over the history in one shuffled
  order, until 1,000 single-sample steps have been taken or one pass's mean loss is
  ``<= 1e-3``.

Two interchangeable backends run that training loop. ``"torch"`` is the authors' way
(autograd, ``torch.optim.SGD``, ``loss.item()`` per step) and costs about as much per step
(~0.2 ms; ~130 ms per round while :math:`t < 2000`). ``"numba"`` runs the same loop --
same shuffled order, same single-sample updates in float32 -- as one compiled function
over the parameters in place (~100x faster), so that many seeds fit a benchmark; the two
agree to float32 rounding on a training round (tested), after which their trajectories
are statistically, not bitwise, the same. The shuffles come from a seeded
``numpy.random.Generator`` (the authors use numpy's global state).

Not for production: the history is replayed one sample at a time. Taught in:
benchmarks/neuralucb_training.py.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from ._validation import check_choice, check_float, check_int
from .agents.base import UCBAgent
from .jacobian import jacobian_loop
from .networks import NeuralBanditNetwork, count_parameters
from .training import HistoryBuffer

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


class ReferenceNeuralUCBDiag(UCBAgent):
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
        self.model = NeuralBanditNetwork(self.feature_dim, (self.width,), seed=self.seed)
        self.p = count_parameters(self.model)
        self.U = torch.full((self.p,), self.lambda_)
        self.history = HistoryBuffer(self.feature_dim)
        self.rng = np.random.default_rng(self.seed)
        self.n_train_steps = 0
        self.last_loss: float | None = None

    # ---------------------------------------------------------------- decision
    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:
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


__all__ = ["ReferenceNeuralUCBDiag", "BACKENDS"]
