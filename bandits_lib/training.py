r"""Training the network of a neural bandit: one step per observation, or the paper's loss over the history.

NeuralUCB as published (Zhou, Li and Gu, 2020, Algorithm 1) does not take one step on the
newest observation: at round :math:`t` it fits the network by gradient descent on the loss
over *all* observations so far, regularised towards the initial weights :math:`\theta_0`,

.. math:: L_t(\theta) = \sum_{i=1}^{t} \frac{\big(f(x_i;\theta) - r_i\big)^2}{2}
          + \frac{m\lambda}{2}\,\lVert\theta - \theta_0\rVert^2 .
   :label: eq-paper-loss

This module makes that a small piece any neural agent can own:

* :class:`HistoryBuffer` -- the stored :math:`(x_i, r_i)` pairs (and the arm played), in
  preallocated tensors that double when full; optionally only the last ``window``.
* :class:`HistoryTraining` -- the ``"history"`` schedule: every ``train_every`` rounds,
  ``steps`` gradient steps on mini-batches of the history (SGD as in the paper, or Adam),
  warm-started from the current weights, batches drawn from its own seeded generator.
* :func:`make_training` -- the one call an agent makes: ``None`` for ``"online"`` (the
  agent keeps taking its own single step on the newest observation, today's behaviour)
  or a :class:`HistoryTraining` for ``"history"``.

The objective and its normalisation
-----------------------------------
On a batch :math:`B` of indices into the :math:`n` stored observations, with
:math:`c` = ``regularization`` and :math:`\theta_\star` = ``anchor`` (:math:`\theta_0`, the
initial weights, or 0),

.. math:: \ell_B(\theta) = \frac{1}{|B|}\sum_{i\in B}\big(f(x_i;\theta) - r_i\big)^2
          + \frac{c}{n}\,\lVert\theta - \theta_\star\rVert^2 .
   :label: eq-history-loss

The data term is the mean squared error (the same per-sample loss as the online step and
the authors' code); the regulariser is divided by :math:`n`, so that for the full history
(:math:`B = \{1..n\}`) and :math:`\theta_\star = \theta_0`

.. math:: \ell_{\{1..n\}}(\theta) = \frac{2}{n}\, L_n(\theta) \quad\text{with}\quad m\lambda = c,

and a uniformly drawn batch is an unbiased estimate of it. One SGD step of learning rate
:math:`\eta` on :math:`\ell` is therefore one gradient-descent step of :math:`2\eta/n` on
the paper's :math:`L_n`. The agents compute *unscaled* gradients :math:`\nabla f` (no
:math:`1/\sqrt m`) and start the confidence matrix at :math:`A_0 = \lambda I`; for that
parametrisation the regulariser that matches :math:`A` is :math:`c = \lambda` (the
minimiser of :math:`\sum (f-r)^2/2 + \lambda\lVert\theta-\theta_0\rVert^2/2` for the
linearised network is the ridge regression whose Gram matrix is
:math:`A = \lambda I + \sum_i \nabla f_i \nabla f_i^\top`), i.e. the paper's
:math:`m\lambda_{\text{paper}} = \lambda`. :func:`make_training` uses that default.

With ``penalty="per_sample"`` the weight is not divided by :math:`n`,
:math:`\ell_B = \frac1{|B|}\sum_B (f-r)^2 + c\lVert\theta-\theta_\star\rVert^2`: the fixed point of
SGD with weight decay :math:`w = 2c` on single samples. The authors' public code trains that
way, towards 0, with :math:`w = \lambda` (``anchor="zero", penalty="per_sample",
regularization=lambda/2``), one sample at a time, at most 1,000 steps per round (see
:class:`~bandits_lib.reference.ReferenceNeuralUCBDiag`).

What the benchmark measured
---------------------------
On the paper's problems (``benchmarks/neuralucb_training.py``, d = 20, K = 4, m = 100,
lambda = 1e-3, T = 3,000, 8 seeds) the authors' code ends at a total regret of 37.8 +- 3.4
(cos) and 85.5 +- 37.3 (10 (a^T x)^2), against 256 and 1,367 for one Adam step per
observation. :data:`RECOMMENDED_HISTORY_OPTIONS` (SGD, batches of 64, 100 steps per training
round, every round before t = 200 and then every 100 rounds, the code's weight decay) ends
at 38.2 +- 3.9 and 81.2 +- 29.5 (paired differences to the code +0.4 [-1.4, +2.2] and -4.2
[-38.8, +30.4], t 95% intervals), at 1.1 ms per step: 11x less than the same training at
every round, 130x less than the code. Two findings decide it: the penalty must be the
code's weight decay (the paper's :math:`c/n` towards :math:`\theta_0` at :math:`c = \lambda`
ends at 75 on cos), and the early rounds must be trained densely (every 100 rounds from
the start ends at 71; dense until t = 50, at 51).

Taught in: chapters/03_4_online_learning (to be wired), benchmarks/neuralucb_training.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .checkpoint import CheckpointError, Stateful
from ._validation import (
    MAX_ABS_INPUT,
    check_choice,
    check_device,
    check_float,
    check_int,
    check_reward,
    check_vector,
)
from .jacobian import mlp_linears
from .networks import NeuralBanditNetwork, fused_adam_step_, seeded_generator

#: The training schedules an agent can be given.
SCHEDULES = ("online", "history")
#: Optimisers of :class:`HistoryTraining`.
OPTIMIZERS = ("sgd", "adam")
#: Points the regulariser pulls towards: the initial weights (the paper) or zero (weight decay).
ANCHORS = ("initial", "zero")
#: Where the penalty is added: once to the history's total loss (the paper), or to every sample's loss (the code).
PENALTIES = ("total", "per_sample")
#: How a training step computes the gradient of the data term (see :class:`HistoryTraining`).
GRADIENTS = ("auto", "autograd", "analytic")

Predictor = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

#: History training that matched the authors' code on the paper's problems at lambda = 1e-3
#: (module docstring; ``regularization`` is lambda / 2, the code's weight decay). The learning
#: rate suits unit-norm inputs and rewards of order 1; rescale it for other problems.
RECOMMENDED_HISTORY_OPTIONS = {"steps": 100, "batch_size": 64, "train_every": 100, "dense_until": 200, "lr": 0.3,
                               "optimizer": "sgd", "regularization": 5e-4, "anchor": "zero",
                               "penalty": "per_sample"}


# ---------------------------------------------------------------------------- the stored observations
class HistoryBuffer:
    r"""The observations :math:`(x_i, r_i, a_i)` so far, in preallocated tensors.

    Storage grows by doubling (amortised :math:`O(1)` per append, no Python list of
    tensors). With ``window`` only the last ``window`` observations are kept (a ring:
    the newest overwrites the oldest), for agents that forget.

    Parameters
    ----------
    feature_dim : int
        Width ``d`` of each stored feature vector.
    capacity : int, default 1024
        Rows allocated on the first append; doubled whenever full (capped at ``window``).
    window : int, optional
        Keep only the most recent ``window`` observations.
    dtype : torch.dtype, default torch.float32
        Precision of the stored features and rewards (the networks' precision).
    device : str or torch.device, default "cpu"

    Attributes
    ----------
    size : int
        Number of observations held, ``n`` (at most ``window``).
    n_appended : int
        Number of observations ever appended.
    features : torch.Tensor, shape (n, d)
        The held feature vectors (a view; in storage order, which for a full ring is
        not time order).
    rewards : torch.Tensor, shape (n,)
    arms : torch.Tensor, shape (n,), int64

    Notes
    -----
    Nothing is allocated before the first append, and unused rows are zeros: an agent's
    checkpoint (:mod:`bandits_lib.checkpoint` walks the agent's attributes) then restores
    into a freshly built agent at any size. The walker restores tensors in place, so
    restoring into an agent that already holds a buffer of *another* capacity is refused
    (a :class:`~bandits_lib.checkpoint.CheckpointError`, nothing changed); use
    :meth:`state_dict`/:meth:`load_state_dict`, which accept any size.

    Examples
    --------
    >>> buffer = HistoryBuffer(2, capacity=1)
    >>> buffer.append(torch.tensor([1.0, 0.0]), 0.5); buffer.append(torch.tensor([0.0, 1.0]), 1.0, arm=3)
    >>> len(buffer), buffer.capacity, buffer.rewards.tolist(), buffer.arms.tolist()
    (2, 2, [0.5, 1.0], [0, 3])
    """

    def __init__(self, feature_dim: int, capacity: int = 1024, window: int | None = None,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.initial_capacity = check_int("capacity", capacity, minimum=1)
        self.window = None if window is None else check_int("window", window, minimum=1)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
        self.dtype = dtype
        self.device = check_device("device", device)
        self.size = 0
        self.n_appended = 0
        self._features: torch.Tensor | None = None  # (capacity, d)
        self._rewards: torch.Tensor | None = None  # (capacity,)
        self._arms: torch.Tensor | None = None  # (capacity,) int64

    # ------------------------------------------------------------------ views
    @property
    def capacity(self) -> int:
        """Rows allocated (0 before the first append)."""
        return 0 if self._features is None else self._features.shape[0]

    @property
    def features(self) -> torch.Tensor:
        """Held feature vectors, shape (n, d) (a view of the storage; do not modify)."""
        if self._features is None:
            return torch.zeros(0, self.feature_dim, dtype=self.dtype, device=self.device)
        return self._features[: self.size]

    @property
    def rewards(self) -> torch.Tensor:
        """Held rewards, shape (n,) (a view)."""
        if self._rewards is None:
            return torch.zeros(0, dtype=self.dtype, device=self.device)
        return self._rewards[: self.size]

    @property
    def arms(self) -> torch.Tensor:
        """Arm played for each held observation, shape (n,), int64 (a view)."""
        if self._arms is None:
            return torch.zeros(0, dtype=torch.int64, device=self.device)
        return self._arms[: self.size]

    def __len__(self) -> int:
        return self.size

    def _capacity_for(self, size: int) -> int:
        """Rows the doubling policy holds for ``size`` observations (deterministic)."""
        capacity = self.initial_capacity
        while capacity < size:
            capacity *= 2
        return capacity if self.window is None else min(capacity, self.window)

    def _allocate(self, capacity: int) -> None:
        features = torch.zeros(capacity, self.feature_dim, dtype=self.dtype, device=self.device)
        rewards = torch.zeros(capacity, dtype=self.dtype, device=self.device)
        arms = torch.zeros(capacity, dtype=torch.int64, device=self.device)
        if self.size:
            features[: self.size] = self._features[: self.size]
            rewards[: self.size] = self._rewards[: self.size]
            arms[: self.size] = self._arms[: self.size]
        self._features, self._rewards, self._arms = features, rewards, arms

    # ------------------------------------------------------------------ append
    def append(self, x: torch.Tensor, reward: float, arm: int = 0) -> None:
        """Store one observation.

        Parameters
        ----------
        x : torch.Tensor, shape (feature_dim,)
            Feature vector of the arm played (finite, within ``MAX_ABS_INPUT``).
        reward : float
            Observed reward (finite).
        arm : int, default 0
            Index of the arm played (for agents whose prediction depends on it).
        """
        x = check_vector("x", x, length=self.feature_dim, dtype=self.dtype, device=self.device,
                         max_abs=MAX_ABS_INPUT)
        reward = check_reward("reward", reward, max_abs=MAX_ABS_INPUT)
        arm = check_int("arm", arm, minimum=0)
        self._append_checked(x, reward, arm)

    def _append_checked(self, x: torch.Tensor, reward: float, arm: int) -> None:
        full = self.window is not None and self.size == self.window
        if full:
            position = self.n_appended % self.window
        else:
            position = self.size
            if position == self.capacity:
                self._allocate(self._capacity_for(self.size + 1))
            self.size += 1
        self._features[position] = x
        self._rewards[position] = reward
        self._arms[position] = arm
        self.n_appended += 1

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The held observations and counters (copies), trimmed to ``size`` rows.

        Returns
        -------
        dict
            ``feature_dim, window, size, n_appended`` (ints or None) and ``features``
            (size, d), ``rewards`` (size,), ``arms`` (size,) tensors, in storage order.
        """
        return {"feature_dim": self.feature_dim, "window": self.window, "size": self.size,
                "n_appended": self.n_appended, "features": self.features.detach().clone(),
                "rewards": self.rewards.detach().clone(), "arms": self.arms.detach().clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the held observations by ``state`` (from :meth:`state_dict`), all or nothing.

        The storage is reallocated to the capacity the doubling policy holds for that
        size, so a resumed run continues bit for bit. Raises ``ValueError``/``TypeError``
        naming the offending entry, before changing anything.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping from HistoryBuffer.state_dict(), got {type(state).__name__}")
        keys = {"feature_dim", "window", "size", "n_appended", "features", "rewards", "arms"}
        if set(state) != keys:
            raise ValueError(f"state must have the keys {sorted(keys)}, got {sorted(map(str, state))}")
        if state["feature_dim"] != self.feature_dim or state["window"] != self.window:
            raise ValueError(f"state is of a buffer with feature_dim={state['feature_dim']!r}, "
                             f"window={state['window']!r}; this one has feature_dim={self.feature_dim}, "
                             f"window={self.window}")
        size = check_int("state['size']", state["size"], minimum=0)
        n_appended = check_int("state['n_appended']", state["n_appended"], minimum=size)
        if self.window is not None and size > self.window:
            raise ValueError(f"state['size'] must be <= window={self.window}, got {size}")
        if self.window is not None and size < self.window and n_appended != size:
            raise ValueError(f"state['n_appended'] must equal state['size'] until the window is full, "
                             f"got {n_appended} and {size}")
        if self.window is None and n_appended != size:
            raise ValueError(f"state['n_appended'] must equal state['size'] without a window, got {n_appended} "
                             f"and {size}")
        expected = {"features": ((size, self.feature_dim), self.dtype), "rewards": ((size,), self.dtype),
                    "arms": ((size,), torch.int64)}
        for name, (shape, dtype) in expected.items():
            value = state[name]
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape or value.dtype != dtype:
                got = (f"shape {tuple(value.shape)}, {value.dtype}" if isinstance(value, torch.Tensor)
                       else type(value).__name__)
                raise ValueError(f"state['{name}'] must be a tensor of shape {shape} and dtype {dtype}, got {got}")
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise ValueError(f"state['{name}'] must contain only finite values")
        if size and (bool((state["arms"] < 0).any())):
            raise ValueError("state['arms'] must be >= 0")
        # Checked: apply.
        self.size = 0
        self._features = self._rewards = self._arms = None
        if size:
            self._allocate(self._capacity_for(size))
            self._features[:size] = state["features"].to(self.device)
            self._rewards[:size] = state["rewards"].to(self.device)
            self._arms[:size] = state["arms"].to(self.device)
        self.size = size
        self.n_appended = n_appended

    def __repr__(self) -> str:
        return (f"HistoryBuffer(feature_dim={self.feature_dim}, size={self.size}, capacity={self.capacity}, "
                f"window={self.window})")


# ---------------------------------------------------------------------------- the schedule
def default_predict(model: nn.Module, X: torch.Tensor, arms: torch.Tensor | None = None) -> torch.Tensor:
    """Prediction of a book network for the rows of ``X`` (shape (B, d)), shape (B,).

    ``model(X)[:, 0]`` for :class:`~bandits_lib.networks.NeuralBanditNetwork` (and any
    network with one output), ``model(X)["prediction"][:, 0]`` for
    :class:`~bandits_lib.networks.NeuralBanditModel`. ``arms`` is unused (agents whose
    prediction depends on the arm, such as the Neural-LinUCB hybrid, pass their own).
    """
    out = model(X)
    if isinstance(out, Mapping):
        out = out["prediction"]
    return out[:, 0]


class HistoryTraining(Stateful):
    r"""The ``"history"`` schedule: ``steps`` gradient steps on the stored history every ``train_every`` rounds.

    At every round the agent calls :meth:`observe` with the played arm's features and
    reward: they are appended to :attr:`buffer` and, on a training round, the network
    takes ``steps`` gradient steps on :eq:`eq-history-loss` (module docstring), each on
    a batch of ``batch_size`` indices drawn uniformly with replacement from the
    :math:`n` stored observations (all of them, in order, when ``batch_size`` is
    ``None`` or :math:`n \le` ``batch_size``: full-batch gradient descent). Round
    :math:`t` (0-based, counted by :attr:`n_rounds`) is a training round when
    :math:`t <` ``dense_until`` or :math:`t \bmod` ``train_every`` :math:`= 0`. The authors'
    code trains at every round while :math:`t < 2000`, then every 100 rounds:
    ``dense_until=2000, train_every=100``.

    Parameters
    ----------
    model : nn.Module
        The network to train (the agent's). Its current weights are :math:`\theta_0`:
        build the schedule right after the network.
    steps : int, default 50
        ``J``, gradient steps per training round.
    batch_size : int or None, default 64
        Mini-batch size; ``None`` for full-batch gradient descent.
    train_every : int, default 1
        ``H``: train at rounds :math:`t \equiv 0 \pmod H` (and every round before ``dense_until``).
    dense_until : int, default 0
        Train at every round while :math:`t <` ``dense_until``.
    lr : float, default 1e-2
        Learning rate :math:`\eta` of the optimiser.
    optimizer : {"sgd", "adam"}, default "sgd"
        Plain gradient descent :math:`\theta \leftarrow \theta - \eta\nabla\ell_B` (the
        paper), or Adam (``torch.optim.Adam``, state kept across rounds).
    regularization : float, default 0.0
        :math:`c \ge 0` in :eq:`eq-history-loss` (the paper's :math:`m\lambda`; the
        agents pass their ``lambda_``).
    anchor : {"initial", "zero"}, default "initial"
        :math:`\theta_\star`: the initial weights (the paper) or zero (weight decay, as
        the authors' code).
    penalty : {"total", "per_sample"}, default "total"
        ``"total"``: the penalty is added once to the history's loss, so its weight in
        the mean is :math:`c/n` (:eq:`eq-history-loss`, the paper). ``"per_sample"``: it is
        added to every sample's loss, weight :math:`c` whatever :math:`n`: the objective
        that SGD with weight decay :math:`w` converges to, with :math:`c = w/2` (the
        authors' code: ``anchor="zero", penalty="per_sample", regularization=lambda/2``).
    warm_start : bool, default True
        Continue from the current weights; ``False`` restarts every training round from
        :math:`\theta_0` (and a fresh Adam state), as the paper's Algorithm 1 writes it.
    seed : int or None
        Seed of the generator of the batch indices.
    capacity, window
        Of the :class:`HistoryBuffer`.
    gradient : {"auto", "autograd", "analytic"}, default "auto"
        ``"autograd"``: ``loss.backward()`` on the data term. ``"analytic"``: the
        closed-form backward pass of a Linear/ReLU network summed over the batch (the
        forward and backward of :mod:`bandits_lib.jacobian`, without per-row Jacobians),
        about 1.5-2x faster; equal to autograd's up to float rounding (tested).
        ``"auto"``: analytic for the book's Linear/ReLU networks with the default
        prediction, autograd otherwise. The regulariser's gradient
        :math:`2(c/n)(\theta - \theta_\star)` is added explicitly in both.

    Attributes
    ----------
    buffer : HistoryBuffer
    generator : torch.Generator
        Draws the batch indices (checkpointed with the agent).
    n_rounds, n_trainings, n_steps : int
        Observations seen, training rounds run, gradient steps taken.
    last_loss : float or None
        Mean data term :math:`\frac1{|B|}\sum_B (f-r)^2` of the last step's batch (before that step).

    Examples
    --------
    >>> from bandits_lib.networks import NeuralBanditNetwork
    >>> net = NeuralBanditNetwork(3, (8,), seed=0)
    >>> training = HistoryTraining(net, steps=5, batch_size=None, train_every=2, seed=0)
    >>> [training.observe(net, torch.ones(3) * t, 1.0) for t in range(4)]
    [True, False, True, False]
    >>> training.n_steps, len(training.buffer)
    (10, 4)
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        steps: int = 50,
        batch_size: int | None = 64,
        train_every: int = 1,
        dense_until: int = 0,
        lr: float = 1e-2,
        optimizer: str = "sgd",
        regularization: float = 0.0,
        anchor: str = "initial",
        warm_start: bool = True,
        penalty: str = "total",
        seed: int | None = None,
        capacity: int = 1024,
        window: int | None = None,
        gradient: str = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        parameters = [p for p in model.parameters() if p.requires_grad]
        if not parameters:
            raise ValueError("model must have trainable parameters")
        self.steps = check_int("steps", steps, minimum=1)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, minimum=1)
        self.train_every = check_int("train_every", train_every, minimum=1)
        self.dense_until = check_int("dense_until", dense_until, minimum=0)
        self.lr = check_float("lr", lr, strictly_positive=True)
        self.optimizer_name = check_choice("optimizer", optimizer, OPTIMIZERS)
        self.regularization = check_float("regularization", regularization, minimum=0.0)
        self.anchor = check_choice("anchor", anchor, ANCHORS)
        self.penalty = check_choice("penalty", penalty, PENALTIES)
        if not isinstance(warm_start, bool):
            raise TypeError(f"warm_start must be a bool, got {type(warm_start).__name__} {warm_start!r}")
        self.warm_start = warm_start
        seed = None if seed is None else check_int("seed", seed, minimum=0)
        self.gradient_mode = check_choice("gradient", gradient, GRADIENTS)
        analytic = _analytic_layers(model, parameters)
        if self.gradient_mode == "analytic" and analytic is None:
            raise ValueError(f"gradient='analytic' needs a Linear/ReLU network (NeuralBanditNetwork, NeuralBanditModel "
                             f"or an nn.Sequential of Linear/ReLU), got {type(model).__name__}")
        first = parameters[0]
        feature_dim = _input_width(model)
        self.buffer = HistoryBuffer(feature_dim, capacity=capacity, window=window, dtype=first.dtype,
                                    device=first.device)
        self.generator = seeded_generator(seed)
        self.theta0 = [p.detach().clone() for p in parameters]  # theta_0, one tensor per parameter
        self.n_parameters = sum(p.numel() for p in parameters)
        self._optimizer = self._new_optimizer(parameters)
        self.n_rounds = 0
        self.n_trainings = 0
        self.n_steps = 0
        self.last_loss: float | None = None

    def _new_optimizer(self, parameters: list[torch.Tensor]) -> torch.optim.Optimizer | None:
        if self.optimizer_name == "adam":
            # Fused: one kernel for all tensors, stepped by fused_adam_step_ (bit-identical to .step()).
            return torch.optim.Adam(parameters, lr=self.lr, fused=True)
        return None  # SGD is one in-place update; nothing to keep

    def _uses_analytic(self, model: nn.Module, predict: Predictor | None) -> bool:
        if self.gradient_mode == "autograd" or predict is not None:
            if self.gradient_mode == "analytic" and predict is not None:
                raise ValueError("gradient='analytic' computes the default prediction only; pass predict=None "
                                 "or use gradient='autograd'")
            return False
        return self.gradient_mode == "analytic" or _analytic_layers(model, None) is not None

    # ------------------------------------------------------------------ schedule
    def is_training_round(self, t: int) -> bool:
        """Whether round ``t`` (0-based) trains: ``t < dense_until`` or ``t % train_every == 0``."""
        return t < self.dense_until or t % self.train_every == 0

    def observe(self, model: nn.Module, x: torch.Tensor, reward: float, arm: int = 0,
                predict: Predictor | None = None) -> bool:
        """Store ``(x, reward, arm)``; on a training round, train ``model``. Returns whether it trained.

        Parameters
        ----------
        model : nn.Module
            The network this schedule was built for.
        x : torch.Tensor, shape (feature_dim,)
        reward : float
        arm : int, default 0
        predict : callable, optional
            ``predict(model, X, arms) -> (B,)``; default :func:`default_predict`.
        """
        self._check_model(model)
        self.buffer.append(x, reward, arm)  # validates before storing
        t = self.n_rounds
        self.n_rounds += 1
        if self.is_training_round(t):
            self.train(model, predict)
            return True
        return False

    # ------------------------------------------------------------------ the loss
    def _coefficient(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """The penalty's weight, :math:`c/n` (``penalty="total"``) or :math:`c`, 0-dim, in ``like``'s dtype."""
        value = self.regularization / n if self.penalty == "total" else self.regularization
        return torch.tensor(value, dtype=like.dtype, device=like.device)

    def _penalty_gradients(self, parameters: list[torch.Tensor], scale: torch.Tensor) -> list[torch.Tensor]:
        """New tensors :math:`\\text{scale}\\,(\\theta - \\theta_\\star)`, one per parameter (parameters untouched)."""
        detached = [p.detach() for p in parameters]
        if self.anchor == "initial":
            gaps = torch._foreach_sub(detached, self.theta0)
            torch._foreach_mul_(gaps, scale)
            return gaps
        return torch._foreach_mul(detached, scale)  # out of place: never scale the parameters themselves

    def batch(self, indices: torch.Tensor | None = None,
              with_arms: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Features (B, d), rewards (B,) and arms (B,) of the stored rows ``indices`` (all rows if ``None``).

        ``with_arms=False`` skips gathering the arms (``None`` in their place).
        """
        buffer = self.buffer
        if indices is None:
            return buffer.features, buffer.rewards, buffer.arms if with_arms else None
        arms = buffer.arms[indices] if with_arms else None
        return buffer.features[indices], buffer.rewards[indices], arms

    def loss(self, model: nn.Module, indices: torch.Tensor | None = None,
             predict: Predictor | None = None) -> torch.Tensor:
        r""":math:`\ell_B(\theta)` of :eq:`eq-history-loss` on the rows ``indices`` (all if ``None``), differentiable.

        Returns
        -------
        torch.Tensor, shape ()
        """
        self._check_model(model)
        n = len(self.buffer)
        if n == 0:
            raise ValueError("the history is empty: observe() at least one observation first")
        X, r, arms = self.batch(indices, with_arms=predict is not None)
        diff = (predict or default_predict)(model, X, arms) - r
        loss = (diff * diff).mean()
        if self.regularization:
            parameters = [p for p in model.parameters() if p.requires_grad]
            anchors = self.theta0 if self.anchor == "initial" else [torch.zeros_like(p) for p in parameters]
            penalty = sum(((p - a) ** 2).sum() for p, a in zip(parameters, anchors, strict=True))
            loss = loss + self._coefficient(n, loss) * penalty
        return loss

    def gradient(self, model: nn.Module, indices: torch.Tensor | None = None,
                 predict: Predictor | None = None) -> torch.Tensor:
        r""":math:`\nabla_\theta \ell_B(\theta)`, flat, shape (p,), ``parameters()`` order (the model is not changed).

        Computed exactly as a training step computes it (autograd on the data term, the
        regulariser's gradient :math:`2(c/n)(\theta - \theta_\star)` added explicitly).
        """
        self._check_model(model)
        if len(self.buffer) == 0:
            raise ValueError("the history is empty: observe() at least one observation first")
        parameters = [p for p in model.parameters() if p.requires_grad]
        saved = [p.grad for p in parameters]
        try:
            grads = self._gradients(model, parameters, indices, predict, self._uses_analytic(model, predict))[0]
        finally:
            for p, g in zip(parameters, saved, strict=True):
                p.grad = g
        return torch.cat([g.reshape(-1) for g in grads])

    def _gradients(self, model: nn.Module, parameters: list[torch.Tensor], indices: torch.Tensor | None,
                   predict: Predictor | None, analytic: bool = False,
                   batch: tuple[torch.Tensor, torch.Tensor] | None = None,
                   scale: torch.Tensor | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Gradients of :math:`\\ell_B` (one per parameter, also set as ``.grad``) and the batch's data term.

        ``batch`` may pass the gathered features and rewards of ``indices``, ``scale`` the
        regulariser's :math:`2c/n` (a 0-dim tensor of the parameters' dtype).
        """
        n = len(self.buffer)
        arms = None
        if batch is not None:
            X, r = batch
        else:
            X, r, arms = self.batch(indices, with_arms=predict is not None)
        if analytic:
            grads, data = _analytic_gradients(model, X, r)
            for p, g in zip(parameters, grads, strict=True):
                p.grad = g
        else:
            for p in parameters:
                p.grad = None
            diff = (predict or default_predict)(model, X, arms) - r
            data = (diff * diff).mean()
            data.backward()
            for p in parameters:  # a parameter the prediction does not use has a zero data gradient
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            grads = [p.grad for p in parameters]
        if self.regularization:
            with torch.no_grad():
                if scale is None:
                    scale = 2.0 * self._coefficient(n, data)
                # d/dθ of the penalty w ||θ-θ*||^2 (w = c/n or c) is 2w(θ-θ*)
                torch._foreach_add_(grads, self._penalty_gradients(parameters, scale))
        return grads, data

    # ------------------------------------------------------------------ training
    def draw_indices(self, n: int) -> torch.Tensor | None:
        """Batch indices of one training round: shape (steps, batch_size), or ``None`` for full batches.

        One call of ``torch.randint`` on :attr:`generator` per training round.
        """
        if self.batch_size is None or n <= self.batch_size:
            return None
        indices = torch.randint(0, n, (self.steps, self.batch_size), generator=self.generator)
        return indices.to(self.buffer.device)

    def train(self, model: nn.Module, predict: Predictor | None = None) -> float:
        """One training round now: ``steps`` gradient steps on the stored history.

        Returns
        -------
        float
            The data term of the last step's batch, before that step (also :attr:`last_loss`).
        """
        self._check_model(model)
        n = len(self.buffer)
        if n == 0:
            raise ValueError("the history is empty: observe() at least one observation first")
        parameters = [p for p in model.parameters() if p.requires_grad]
        if not self.warm_start:
            with torch.no_grad():
                for p, start in zip(parameters, self.theta0, strict=True):
                    p.copy_(start)
            if self._optimizer is not None:
                self._optimizer = self._new_optimizer(parameters)
        analytic = self._uses_analytic(model, predict)
        indices = self.draw_indices(n)
        gathered = None
        if indices is not None and predict is None:  # every batch of the round in two gathers
            gathered = (self.buffer.features[indices], self.buffer.rewards[indices])  # (J, B, d), (J, B)
        scale = 2.0 * self._coefficient(n, parameters[0])  # 2c/n, once per round
        data = None
        for step in range(self.steps):
            batch = None if gathered is None else (gathered[0][step], gathered[1][step])
            grads, data = self._gradients(model, parameters, None if indices is None else indices[step], predict,
                                          analytic, batch, scale)
            if self._optimizer is None:
                with torch.no_grad():
                    torch._foreach_add_(parameters, grads, alpha=-self.lr)
            else:
                fused_adam_step_(self._optimizer)
        for p in parameters:
            p.grad = None
        self.n_trainings += 1
        self.n_steps += self.steps
        self.last_loss = float(data.detach())
        if not math.isfinite(self.last_loss):
            raise FloatingPointError(f"history training diverged (batch loss {self.last_loss}) with lr={self.lr:g}: "
                                     "use a smaller lr")
        return self.last_loss

    # ------------------------------------------------------------------ checks and state
    def _check_model(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        p = sum(q.numel() for q in model.parameters() if q.requires_grad)
        if p != self.n_parameters:
            raise ValueError(f"model has {p} trainable parameters; this HistoryTraining was built for a model "
                             f"with {self.n_parameters}")

    def state_dict(self) -> dict[str, Any]:
        """Counters, generator state, :math:`\\theta_0`, the buffer and the optimiser state (copies).

        ``{"class", "attributes"}`` like every :class:`~bandits_lib.checkpoint.Stateful`
        object; the buffer is stored trimmed to its ``size`` rows, so the state of a run
        loads into a fresh schedule whatever its capacity.
        """
        attributes = {"n_rounds": self.n_rounds, "n_trainings": self.n_trainings, "n_steps": self.n_steps,
                      "last_loss": self.last_loss, "generator": self.generator.get_state(),
                      "theta0": [t.clone() for t in self.theta0], "buffer": self.buffer.state_dict(),
                      "optimizer": None if self._optimizer is None else self._optimizer.state_dict()}
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}", "attributes": attributes}

    def _plan_load(self, state: Mapping[str, Any], where: str, device: torch.device) -> list[Callable[[], None]]:
        """Check ``state`` (from :meth:`state_dict`) entirely; return the one action that applies it."""
        if not isinstance(state, Mapping) or set(state) != {"class", "attributes"}:
            raise CheckpointError(f"{where}: not the state of a HistoryTraining (expected 'class' and 'attributes')")
        if state["class"] != f"{type(self).__module__}.{type(self).__qualname__}":
            raise CheckpointError(f"{where}: holds the state of a {str(state['class']).rsplit('.', 1)[-1]}, "
                                  "not a HistoryTraining")
        try:
            return [self._checked_loader(state["attributes"])]
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{where}: {err}") from err

    def _checked_loader(self, state: Mapping[str, Any]) -> Callable[[], None]:
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping from HistoryTraining.state_dict(), got {type(state).__name__}")
        keys = {"n_rounds", "n_trainings", "n_steps", "last_loss", "generator", "theta0", "buffer", "optimizer"}
        if set(state) != keys:
            raise ValueError(f"state must have the keys {sorted(keys)}, got {sorted(map(str, state))}")
        counters = {k: check_int(f"state['{k}']", state[k], minimum=0) for k in ("n_rounds", "n_trainings", "n_steps")}
        last_loss = state["last_loss"]
        if last_loss is not None:
            last_loss = check_float("state['last_loss']", last_loss)
        generator = state["generator"]
        current = self.generator.get_state()
        if (not isinstance(generator, torch.Tensor) or generator.shape != current.shape
                or generator.dtype != current.dtype):
            raise ValueError("state['generator'] must be a torch.Generator state of this kind")
        theta0 = state["theta0"]
        if (not isinstance(theta0, (list, tuple)) or len(theta0) != len(self.theta0)
                or any(not isinstance(a, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype
                       for a, b in zip(theta0, self.theta0, strict=True))):
            raise ValueError("state['theta0'] must hold one tensor per parameter, of this model's shapes")
        if (state["optimizer"] is None) != (self._optimizer is None):
            raise ValueError(f"state['optimizer'] does not match optimizer={self.optimizer_name!r}")
        probe = HistoryBuffer(self.buffer.feature_dim, self.buffer.initial_capacity, self.buffer.window,
                              self.buffer.dtype, self.buffer.device)
        probe.load_state_dict(state["buffer"])  # checks the buffer without touching ours
        if state["optimizer"] is not None:
            probe_optimizer = torch.optim.Adam([torch.zeros_like(t, requires_grad=True) for t in self.theta0],
                                               lr=self.lr)
            try:
                probe_optimizer.load_state_dict(state["optimizer"])
            except (ValueError, KeyError, TypeError, RuntimeError) as err:
                raise ValueError(f"state['optimizer'] is not an Adam state of this model: {err}") from err
        def apply() -> None:  # checked: apply
            self.buffer = probe
            if self._optimizer is not None:
                self._optimizer.load_state_dict(state["optimizer"])
            self.generator.set_state(generator.clone())
            self.theta0 = [t.detach().clone().to(b.device) for t, b in zip(theta0, self.theta0, strict=True)]
            self.n_rounds, self.n_trainings, self.n_steps = (counters[k]
                                                             for k in ("n_rounds", "n_trainings", "n_steps"))
            self.last_loss = last_loss

        return apply


    def __repr__(self) -> str:
        return (f"HistoryTraining(steps={self.steps}, batch_size={self.batch_size}, train_every={self.train_every}, "
                f"dense_until={self.dense_until}, lr={self.lr:g}, optimizer={self.optimizer_name!r}, "
                f"regularization={self.regularization:g}, anchor={self.anchor!r}, penalty={self.penalty!r}, "
                f"warm_start={self.warm_start})")


def _analytic_layers(model: nn.Module, parameters: list[torch.Tensor] | None) -> tuple[list, list] | None:
    """``mlp_linears(model)`` when the closed-form backward applies to ``model`` (else ``None``).

    It applies when ``model`` is a book Linear/ReLU network with one output whose
    ``parameters()`` are exactly weight, bias of each linear layer in order.
    """
    try:
        linears, relu = mlp_linears(model)
    except TypeError:
        return None
    if parameters is None:
        parameters = [p for p in model.parameters() if p.requires_grad]
    expected = [t for layer in linears for t in (layer.weight, layer.bias)]
    if (any(layer.bias is None for layer in linears) or linears[-1].out_features != 1
            or len(expected) != len(parameters) or any(a is not b for a, b in zip(expected, parameters, strict=True))):
        return None
    return linears, relu


@torch.no_grad()
def _analytic_gradients(model: nn.Module, X: torch.Tensor, r: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    r"""Gradient of :math:`\frac1B\sum_i (f(x_i) - r_i)^2` for a Linear/ReLU network, closed form, and its value.

    Backpropagation summed over the batch: with :math:`\delta_L = 2(f - r)/B` (shape (B, 1)),
    :math:`\partial/\partial W_l = \delta_l^\top a_{l-1}`, :math:`\partial/\partial b_l = \sum_i \delta_{l,i}`,
    :math:`\delta_{l-1} = (\delta_l W_l) \odot [z_{l-1} > 0]`. Returns one tensor per parameter
    (``parameters()`` order) and the mean squared error (shape ()).
    """
    linears, relu = mlp_linears(model)
    activations = [X]
    pre_activations = []
    for layer, has_relu in zip(linears, relu, strict=True):
        z = F.linear(activations[-1], layer.weight, layer.bias)
        pre_activations.append(z)
        activations.append(torch.relu(z) if has_relu else z)
    diff = activations[-1] - r.unsqueeze(1)  # (B, 1)
    data = diff.square().mean()
    delta = diff.mul_(2.0 / X.shape[0])
    grads: list[torch.Tensor] = []
    for index in range(len(linears) - 1, -1, -1):
        if relu[index]:  # ReLU's backward as autograd computes it (torch.where costs ~8x more here)
            delta = torch.ops.aten.threshold_backward(delta, pre_activations[index], 0)
        grads.append(delta.sum(dim=0))
        grads.append(torch.mm(delta.T, activations[index]))
        if index > 0:
            delta = torch.mm(delta, linears[index].weight)
    grads.reverse()
    return grads, data


def _input_width(model: nn.Module) -> int:
    """Input width of the first linear layer of ``model``."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return module.in_features
    raise TypeError(f"model must contain an nn.Linear layer (to know the input width), got {type(model).__name__}")


#: Options :func:`make_training` accepts for ``"history"``.
HISTORY_OPTIONS = ("steps", "batch_size", "train_every", "dense_until", "lr", "optimizer", "regularization",
                   "anchor", "penalty", "warm_start", "seed", "capacity", "window", "gradient")


def check_training_options(training: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``training`` and ``options`` without building anything (for agents' constructors).

    Returns the options as a plain dict. Raises ``ValueError``/``TypeError`` naming
    the argument (``training`` or ``training_options['...']``).
    """
    training = check_choice("training", training, SCHEDULES)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"training_options must be a dict of option -> value, got {type(options).__name__}")
    options = dict(options)
    if training == "online" and options:
        raise ValueError(f"training_options must be empty for training='online', got {sorted(options)}")
    unknown = sorted(set(options) - set(HISTORY_OPTIONS))
    if unknown:
        raise ValueError(f"training_options has unknown keys {unknown}; expected some of {list(HISTORY_OPTIONS)}")
    # Build once on a throwaway network: every option is checked with its own message.
    probe = NeuralBanditNetwork(1, (1,), seed=0)
    try:
        HistoryTraining(probe, **options)
    except (TypeError, ValueError) as err:
        raise type(err)(f"training_options: {err}") from err
    return options


def make_training(training: str, model: nn.Module, options: Mapping[str, Any] | None = None,
                  **defaults: Any) -> HistoryTraining | None:
    """The training an agent owns: ``None`` for ``"online"``, a :class:`HistoryTraining` for ``"history"``.

    Parameters
    ----------
    training : {"online", "history"}
    model : nn.Module
        The agent's network (its current weights become :math:`\\theta_0`).
    options : dict, optional
        Options of :class:`HistoryTraining` (keys of ``HISTORY_OPTIONS``).
    **defaults
        Values used for options not given (agents pass ``regularization=lambda_`` and
        ``seed=seed``).

    Examples
    --------
    >>> from bandits_lib.networks import NeuralBanditNetwork
    >>> net = NeuralBanditNetwork(3, (8,), seed=0)
    >>> make_training("online", net) is None
    True
    >>> make_training("history", net, {"steps": 10}, regularization=1.0, seed=0)  # doctest: +NORMALIZE_WHITESPACE
    HistoryTraining(steps=10, batch_size=64, train_every=1, dense_until=0, lr=0.01, optimizer='sgd',
                    regularization=1, anchor='initial', penalty='total', warm_start=True)
    """
    options = check_training_options(training, options)
    if training == "online":
        return None
    return HistoryTraining(model, **{**defaults, **options})


__all__ = ["HistoryBuffer", "HistoryTraining", "make_training", "check_training_options", "default_predict",
           "SCHEDULES", "OPTIMIZERS", "ANCHORS", "PENALTIES", "GRADIENTS", "HISTORY_OPTIONS",
           "RECOMMENDED_HISTORY_OPTIONS"]
