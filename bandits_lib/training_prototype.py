r"""A prototype NeuralUCB agent that owns a training schedule (for experiments, until the agents are wired).

:class:`HistoryNeuralUCBAgent` is :class:`~bandits_lib.agents.NeuralUCBAgent` with two more
constructor arguments, ``training`` and ``training_options``; everything else (network,
gradients, confidence, bonus, decision) is inherited unchanged. With ``training="online"``
it *is* today's agent (it calls the parent's ``_learn``: same arms, same weights, bit for
bit; tested). With ``training="history"`` the parent's single Adam step is replaced by a
:class:`~bandits_lib.training.HistoryTraining` built by
:func:`~bandits_lib.training.make_training` right after the network, so that the initial
weights are :math:`\theta_0`.

Wiring the same into any neural agent is these lines (``self.model`` built first)::

    # __init__, before super().__init__ (validates without building anything):
    options = check_training_options(training, training_options)
    # __init__, after the network exists:
    self.training_mode, self.training_options = training, options
    self.trainer = make_training(training, self.model, options, regularization=self.lambda_, seed=self.seed)
    # _learn, in place of the single step (after the confidence update):
    if self.trainer is None:
        self._step(gradient, 2.0 * (outputs.tolist()[row] - reward))  # "online", as today
    else:
        self.trainer.observe(self.model, x, reward, arm)

Taught in: benchmarks/neuralucb_training.py (to be folded into chapters/03_4_online_learning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .agents.neural import NeuralUCBAgent
from .training import check_training_options, make_training


class HistoryNeuralUCBAgent(NeuralUCBAgent):
    r"""NeuralUCB whose network is trained by a schedule: ``"online"`` (today's) or ``"history"`` (the paper's).

    Parameters
    ----------
    feature_dim, hidden_dims, lambda_, alpha, lr, confidence, jacobian, seed, device, confidence_dtype
        As for :class:`~bandits_lib.agents.NeuralUCBAgent` (``lr`` is the online Adam step's).
    training : {"online", "history"}, default "online"
        ``"online"``: one Adam step on the newest observation (exactly the parent).
        ``"history"``: :class:`~bandits_lib.training.HistoryTraining` on every observation so far.
    training_options : dict, optional
        Options of :class:`~bandits_lib.training.HistoryTraining` (``steps``,
        ``batch_size``, ``train_every``, ``dense_until``, ``lr``, ``optimizer``,
        ``regularization``, ``anchor``, ``warm_start``, ``seed``, ``capacity``,
        ``window``). Defaults: ``regularization=lambda_`` (the regulariser that matches
        :math:`A_0 = \lambda I`, see :mod:`bandits_lib.training`), ``seed=seed``.

    Attributes
    ----------
    trainer : HistoryTraining or None
        ``None`` for ``"online"``.

    Examples
    --------
    >>> agent = HistoryNeuralUCBAgent(4, (8,), confidence="diagonal", seed=0, training="history",
    ...                               training_options={"steps": 3, "batch_size": 2})
    >>> X = torch.eye(3, 4)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.trainer.n_steps, len(agent.trainer.buffer)
    (3, 1)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "vmap",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        confidence_dtype: torch.dtype | None = None,
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        options = check_training_options(training, training_options)
        super().__init__(feature_dim, hidden_dims, lambda_, alpha, lr, confidence, jacobian, seed, device,
                         confidence_dtype)
        self.training_mode = training
        self.training_options = options
        self.trainer = make_training(training, self.model, options, regularization=self.lambda_, seed=self.seed)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        if self.trainer is None:
            super()._learn(arm, x, reward, cache)
            return
        groups, outputs, J, solved = cache
        row = groups.group_of[arm]
        self.confidence.update(J[row], None if solved is None else solved[row])
        self.trainer.observe(self.model, x, reward, arm)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, training={self.training_mode!r})"


__all__ = ["HistoryNeuralUCBAgent"]
