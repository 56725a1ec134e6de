r"""Neural bandits: NeuralUCB, its practical relatives, and the variants of Chapter 4.

* :class:`NeuralUCBAgent` -- NeuralUCB (Zhou, Li and Gu, 2020) as Chapter 3 builds it:
  mean :math:`g(x;\theta)`, width :math:`\sqrt{\nabla g^\top A^{-1}\nabla g}` with one
  shared :math:`p\times p` matrix :math:`A` over the gradients of all :math:`p`
  parameters (``confidence="full"``, exact) or its diagonal (``"diagonal"``).
* :class:`LastLayerNeuralUCBAgent` -- the shared matrix lives on the *embeddings* (the
  last layer's inputs) only.
* :class:`NeuralLinUCBAgent` -- disjoint LinUCB on the embeddings of a network trained
  through the played arm's linear head.
* :class:`NeuralTSAgent` -- NeuralTS (Zhang, Zhou, Li and Gu, 2021): NeuralUCB's mean
  and width, decided by Thompson sampling.
* :class:`ForgettingNeuralUCBAgent` -- NeuralUCB whose confidence matrix forgets.
* :class:`DiagonalNeuralUCBAgent` -- diagonal NeuralUCB for many arms: the width of
  100,000 candidates without ever forming their Jacobian.

The first three evaluate the network once per *distinct* feature row (5 per user in the
pet shop, not 50) and train with gradients from the closed-form backward pass of
:mod:`bandits_lib.jacobian` (equal to autograd's; tested); each takes one Adam step on
the played arm's squared error per round through
:func:`~bandits_lib.networks.fused_adam_step_` (bit-identical to ``optimizer.step()``, a
fraction of its Python cost). The performance appendix measures each of these choices.

Taught in: chapters/03_2_neuralucb, chapters/03_4_online_learning,
chapters/03_5_cost_of_exploration, chapters/04_1_nonstationarity, chapters/04_2_thompson,
chapters/04_4_scale, chapters/appendix_performance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_hidden_dims, check_int
from ..confidence import CONFIDENCE_MODES, DisjointRidge, FullConfidence, _cast, confidence_width
from ..exploration import ExplorationRule
from ..forgetting import DISCOUNTED_CONFIDENCE_MODES, check_discount
from ..jacobian import (
    JACOBIAN_MODES,
    compute_jacobian,
    diagonal_quadratic_form,
    forward_and_jacobian,
    mlp_backward,
    mlp_forward,
    unit_output_grad,
)
from ..training import check_training_options, make_training
from ..networks import (
    EmbeddingNetwork,
    NeuralBanditNetwork,
    count_parameters,
    flat_gradient_buffer,
    fused_adam_step_,
    make_mlp,
    seeded_generator,
)
from .base import BanditAgent


class _NeuralAgent(BanditAgent):
    """Shared set-up of the neural agents: hyperparameter checks, and training in one place.

    ``training="online"`` takes one Adam step on the played arm's squared error per round
    (:meth:`_step`); ``training="history"`` hands every observation to a
    :class:`~bandits_lib.training.HistoryTraining` (``self.trainer``), which stores it and,
    on its training rounds, fits the network on the whole history as the NeuralUCB paper
    does (options in ``training_options``; see :mod:`bandits_lib.training`).
    """

    model: nn.Module
    scores_rows = True

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int], lambda_: float, alpha: float, lr: float,
                 exploration: str | ExplorationRule, seed: int | None, device: torch.device | str,
                 training: str = "online", training_options: Mapping[str, Any] | None = None) -> None:
        self.hidden_dims = check_hidden_dims("hidden_dims", hidden_dims)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.lr = check_float("lr", lr, strictly_positive=True)
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        self.training_options = check_training_options(training, training_options) or None
        self.training = training
        super().__init__(feature_dim, device)
        self.exploration = exploration
        self._use_exploration(exploration, self.seed)

    def _init_training(self) -> None:
        """Once the network exists: its Adam optimiser (online) or its history schedule (theta_0 = now)."""
        self.model.to(self.device)
        # The fused kernel updates all parameter tensors in one call (same Adam maths).
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr, fused=True)
        self.trainer = make_training(self.training, self.model, self.training_options, regularization=self.lambda_,
                                     seed=self.seed)

    def _step(self, flat_gradient: torch.Tensor, scale: float = 1.0) -> None:
        """One Adam step on the gradient ``scale * flat_gradient`` (shape (p,), ``parameters()`` order)."""
        torch.mul(flat_gradient, scale, out=flat_gradient_buffer(self.optimizer))
        fused_adam_step_(self.optimizer)


class NeuralUCBAgent(_NeuralAgent):
    r"""NeuralUCB with gradient features and a shared confidence matrix.

    At each step, for every arm :math:`a`:

    .. math:: \hat\mu_{t,a} = g(x_{t,a};\theta_{t-1}), \qquad
              w_{t,a} = \sqrt{\nabla g_{t,a}^\top A_{t-1}^{-1}\nabla g_{t,a}},
              \qquad A_t = A_{t-1} + \nabla g_{t,a_t}\nabla g_{t,a_t}^\top,

    with :math:`A_0 = \lambda I_p` and :math:`\nabla g_{t,a}` the gradient of the output
    with respect to all parameters, taken at predict time; UCB plays
    :math:`\argmax_a \hat\mu_{t,a} + \alpha w_{t,a}`. After the update of :math:`A`, one
    Adam step on :math:`(g(x_{t,a_t};\theta) - r_t)^2`. Because :math:`\theta` has not
    moved since predict, that loss's gradient is :math:`2(g(x_{t,a_t}) - r_t)\nabla g_{t,a_t}`:
    the same Jacobian row, rescaled.

    Parameters
    ----------
    feature_dim : int
        Input width ``d``.
    hidden_dims : sequence of int, default (128, 64)
        Hidden layers of :class:`~bandits_lib.networks.NeuralBanditNetwork`.
    lambda_ : float, default 1.0
        Ridge :math:`\lambda > 0`.
    alpha : float, default 1.0
        Exploration weight :math:`\alpha \ge 0`.
    lr : float, default 1e-3
        Adam learning rate.
    confidence : {"full", "diagonal"}, default "full"
        ``"full"`` keeps the exact :math:`A^{-1}` (Sherman--Morrison, never inverted);
        ``"diagonal"`` keeps :math:`\operatorname{diag}(A)` only.
    jacobian : {"analytic", "vmap", "loop"}, default "analytic"
        How the per-arm gradients are computed: the closed-form backward pass of a
        Linear/ReLU network (fastest on CPU), ``torch.func.vmap`` over ``grad`` (any
        network), or a loop of backward passes (the slow reference). All three give
        the same matrix (tested).
    exploration : {"ucb", "thompson"} or ExplorationRule, default "ucb"
    seed : int or None
        Seed of the network initialisation (and of the rule's draws, through a separate stream).
    device : str or torch.device, default "cpu"
    confidence_dtype : torch.dtype, optional
        Precision of :math:`A^{-1}` (default float64) or of diag(A) (default float32).
    training : {"online", "history"}, default "online"
        ``"online"``: one Adam step (``lr``) on the played arm's squared error per round.
        ``"history"``: the paper's training, gradient steps on the whole stored history
        (:class:`~bandits_lib.training.HistoryTraining`; ``lr`` is then unused).
    training_options : dict, optional
        Options of the ``"history"`` schedule (``steps``, ``batch_size``, ``train_every``,
        ``dense_until``, ``lr``, ``optimizer``, ``regularization`` (default ``lambda_``),
        ``anchor``, ``penalty``, ...; :data:`~bandits_lib.training.HISTORY_OPTIONS`).

    Attributes
    ----------
    model : NeuralBanditNetwork
    p : int
        Number of network parameters (9,601 for d = 9 and (128, 64)).
    confidence_matrix : FullConfidence or DiagonalConfidence
        What is kept of :math:`A`.
    trainer : HistoryTraining or None
        The history schedule (``None`` online).

    Examples
    --------
    >>> agent = NeuralUCBAgent(feature_dim=9, hidden_dims=(16,), seed=0)
    >>> X = torch.eye(5, 9)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.p, agent.t
    (177, 1)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "analytic",
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        confidence_dtype: torch.dtype | None = None,
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.confidence = check_choice("confidence", confidence, tuple(CONFIDENCE_MODES))
        self.jacobian = check_choice("jacobian", jacobian, JACOBIAN_MODES)
        self.confidence_dtype = confidence_dtype
        super().__init__(feature_dim, hidden_dims, lambda_, alpha, lr, exploration, seed, device, training,
                         training_options)
        self.model = NeuralBanditNetwork(self.feature_dim, self.hidden_dims, seed=self.seed)
        self._init_training()
        self.p = count_parameters(self.model)
        self.confidence_matrix = self._new_confidence_matrix()

    def _new_confidence_matrix(self) -> Any:
        dtype = self.confidence_dtype
        if dtype is None:
            dtype = torch.float64 if self.confidence == "full" else torch.float32
        return CONFIDENCE_MODES[self.confidence](self.p, self.lambda_, dtype, self.device)

    def _forward_and_jacobian(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.jacobian == "analytic":
            return forward_and_jacobian(self.model, X)
        with torch.no_grad():
            outputs = self.model(X)[:, 0]
        return outputs, compute_jacobian(self.model, X, self.jacobian)

    def _score_rows(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        outputs, J = self._forward_and_jacobian(groups.rows)  # (n_distinct,), (n_distinct, p)
        solved = self.confidence_matrix.prepare(J)  # rows A^{-1} g, or None (see FullConfidence.prepare)
        width = confidence_width(self.confidence_matrix.quadratic_form(J, solved))
        return outputs, width, (groups, outputs, J, solved)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, outputs, J, solved = cache
        row = groups.group_of[arm]
        gradient = J[row]
        self.confidence_matrix.update(gradient, None if solved is None else solved[row])
        if self.trainer is None:
            self._step(gradient, 2.0 * (outputs.tolist()[row] - reward))
        else:
            self.trainer.observe(self.model, x, reward, arm)


class LastLayerNeuralUCBAgent(_NeuralAgent):
    r"""Practical NeuralUCB: the confidence matrix lives on the embeddings only.

    With :math:`z = \phi(x)` the network's embedding (input of its last, linear layer):

    .. math:: \hat\mu_{t,a} = g(x_{t,a}), \qquad w_{t,a} = \sqrt{z_{t,a}^\top A^{-1} z_{t,a}},
              \qquad A = \lambda I_e + \textstyle\sum_s z_s z_s^\top,

    one shared :math:`e \times e` matrix (``e = embedding_dim``) instead of
    :math:`p \times p`. After the update of :math:`A`, one Adam step on the squared error.

    Parameters
    ----------
    feature_dim : int
    hidden_dims : sequence of int, default (128, 64)
    embedding_dim : int, default 64
    lambda_, alpha, lr, exploration, seed, device, training, training_options
        As for :class:`NeuralUCBAgent`.

    Attributes
    ----------
    model : EmbeddingNetwork
    confidence_matrix : FullConfidence over ``embedding_dim``
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int = 64,
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        super().__init__(feature_dim, hidden_dims, lambda_, alpha, lr, exploration, seed, device, training,
                         training_options)
        self.model = EmbeddingNetwork(self.feature_dim, self.hidden_dims, self.embedding_dim, seed=self.seed)
        self._init_training()
        self.confidence_matrix = FullConfidence(self.embedding_dim, self.lambda_, device=self.device)

    def _score_rows(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        activations, pre_activations = mlp_forward(self.model, groups.rows)
        z, prediction = activations[-2], activations[-1][:, 0]  # embedding, output
        Z = _cast(z, self.confidence_matrix.dtype)  # once, for the solve, the width and the update
        solved = self.confidence_matrix.prepare(Z)
        width = confidence_width(self.confidence_matrix.quadratic_form(Z, solved))
        return prediction, width, (groups, activations, pre_activations, Z, solved)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, activations, pre_activations, Z, solved = cache
        row = groups.group_of[arm]
        self.confidence_matrix.update(Z[row], None if solved is None else solved[row])
        if self.trainer is not None:
            self.trainer.observe(self.model, x, reward, arm)
            return
        # The backward pass of every distinct row costs the same few operations as one row's.
        output = activations[-1]
        J = mlp_backward(self.model, activations, pre_activations, unit_output_grad(output))
        self._step(J[row], 2.0 * (output[:, 0].tolist()[row] - reward))


class NeuralLinUCBAgent(_NeuralAgent):
    r"""Neural-LinUCB hybrid: disjoint LinUCB on learned embeddings.

    A network :math:`\phi` maps raw features to embeddings :math:`z = \phi(x)`; each arm
    keeps a ridge regression on them: :math:`\hat\mu_a = z_{a}^\top\hat\theta_a`,
    :math:`w_a = \sqrt{z_{a}^\top A_a^{-1} z_{a}}`. After the played arm's regression is
    updated, the network takes one Adam step on
    :math:`(\hat\theta_{a_t}^\top \phi(x_{t,a_t}) - r_t)^2`, with :math:`\hat\theta_{a_t}` held fixed.

    Parameters
    ----------
    n_arms : int
    feature_dim : int
    hidden_dims : sequence of int, default (128, 64)
    embedding_dim : int, default 32
    lambda_, alpha, lr, exploration, seed, device, training, training_options
        As for :class:`NeuralUCBAgent`.

    Attributes
    ----------
    model : torch.nn.Sequential
        The embedding network :math:`\phi`.
    ridge : DisjointRidge
        Per-arm :math:`A_a^{-1}, b_a, \hat\theta_a` over the embeddings.
    """

    scores_rows = False  # each arm has its own regression

    def __init__(
        self,
        n_arms: int,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int = 32,
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        super().__init__(feature_dim, hidden_dims, lambda_, alpha, lr, exploration, seed, device, training,
                         training_options)
        self.n_arms = n_arms
        self.model = make_mlp(self.feature_dim, self.hidden_dims, self.embedding_dim, seeded_generator(self.seed))
        self._init_training()
        self.ridge = DisjointRidge(n_arms, self.embedding_dim, self.lambda_, device=self.device)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        activations, pre_activations = mlp_forward(self.model, groups.rows)
        z = activations[-1]
        Z = z[groups.inverse].to(self.ridge.A_inv.dtype)  # (n_arms, embedding_dim), once in the ridge's dtype
        width = confidence_width(self.ridge.quadratic_form(Z))
        return self.ridge.estimate(Z).to(z.dtype), width, (groups, activations, pre_activations)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, activations, pre_activations = cache
        row = groups.group_of[arm]
        z = activations[-1][row]
        self.ridge.update(arm, z, reward)
        if self.trainer is not None:
            self.trainer.observe(self.model, x, reward, arm, predict=self._history_predict)
            return
        theta = self.ridge.theta[arm].to(z.dtype)
        # Gradients of theta . phi(x) for every distinct row (same operations as for one row).
        J = mlp_backward(self.model, activations, pre_activations, theta)
        self._step(J[row], 2.0 * (float(torch.dot(z, theta)) - reward))

    def _history_predict(self, model: nn.Module, X: torch.Tensor, arms: torch.Tensor) -> torch.Tensor:
        r"""The hybrid's prediction of each stored observation: :math:`\hat\theta_{a}^\top \phi(x)`, shape (B,)."""
        return (model(X) * self.ridge.theta[arms].to(X.dtype)).sum(dim=1)


class NeuralTSAgent(NeuralUCBAgent):
    r"""NeuralTS (Zhang, Zhou, Li and Gu, 2021) with the NeuralUCB machinery of Chapter 3.

    For every arm ``a`` (independently):

    .. math:: \tilde r_{t,a} \sim \mathcal N\big(g(x_{t,a};\theta_{t-1}),\; \nu^2\sigma^2_{t,a}\big),
              \qquad \sigma^2_{t,a} = \frac{\lambda\, \nabla g_{t,a}^\top U_{t-1}^{-1}\nabla g_{t,a}}{m},
              \qquad U_t = U_{t-1} + \frac{\nabla g_{t,a_t}\nabla g_{t,a_t}^\top}{m},\; U_0 = \lambda I,

    the paper's form (Algorithm 1), ``m`` being the network width in its analysis. Since
    :math:`U = (m\lambda I + \sum \nabla g\nabla g^\top)/m`, the standard deviation is
    :math:`\nu\sqrt\lambda\,\sqrt{\nabla g^\top A^{-1}\nabla g}` with NeuralUCB's
    :math:`A = m\lambda I + \sum \nabla g \nabla g^\top`: the agent *is* a NeuralUCB
    with ridge :math:`m\lambda` and :math:`\alpha = \nu\sqrt\lambda`, deciding by
    :class:`~bandits_lib.exploration.ThompsonSampling` instead of UCB. Two
    simplifications, the same as the book's NeuralUCB: one Adam step on the played arm's
    squared error per round by default (``training="history"`` trains on the whole history, as
    the paper does), and
    :math:`U` is updated with the gradient at decision time :math:`\theta_{t-1}` (the paper
    writes :math:`\theta_t`; the authors' code does the same as here).

    Parameters
    ----------
    feature_dim, hidden_dims, lr, confidence, jacobian, device, training, training_options
        As for :class:`NeuralUCBAgent` (``confidence`` "full" keeps :math:`U^{-1}`
        exactly, "diagonal" keeps :math:`\operatorname{diag}(U)`).
    lambda_ : float, default 1.0
        :math:`\lambda > 0`.
    nu : float, default 0.1
        Exploration scale :math:`\nu \ge 0`.
    width : float, default 1.0
        The :math:`m` of the formula (> 0). The default 1 is what the authors' code uses.
    seed : int or None
        Seed of the network initialisation and (through a separate stream) of the draws.

    Attributes
    ----------
    alpha : float
        :math:`\nu\sqrt\lambda`, the factor applied to the width :math:`\sqrt{\nabla g^\top A^{-1}\nabla g}`.
    confidence_matrix : FullConfidence or DiagonalConfidence
        Over :math:`A = m\lambda I + \sum\nabla g\nabla g^\top` (so its ``lambda_`` is :math:`m\lambda`).

    Examples
    --------
    >>> agent = NeuralTSAgent(9, (8,), nu=0.5, seed=0)
    >>> X = torch.eye(5, 9)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> mean, width = agent.score(X)
    >>> tuple(mean.shape), bool((width > 0).all())
    ((5,), True)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        nu: float = 0.1,
        width: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "analytic",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.nu = check_float("nu", nu, minimum=0.0)
        self.width = check_float("width", width, strictly_positive=True)
        super().__init__(feature_dim, hidden_dims, lambda_=self.width * lambda_, alpha=self.nu * math.sqrt(lambda_),
                         lr=lr, confidence=confidence, jacobian=jacobian, exploration="thompson", seed=seed,
                         device=device, training=training, training_options=training_options)
        self.lambda_ = lambda_  # the paper's lambda; the confidence matrix holds m * lambda


class ForgettingNeuralUCBAgent(NeuralUCBAgent):
    r"""NeuralUCB whose confidence matrix forgets.

    Everything as :class:`NeuralUCBAgent` (network, gradients, Adam step), except the
    confidence matrix:

    .. math:: A_t = \gamma A_{t-1} + \nabla g_{t,a_t}\nabla g_{t,a_t}^\top, \qquad A_0 = \lambda I,

    kept exactly (``confidence="full"``: :math:`A^{-1}/\gamma` then Sherman--Morrison) or
    by its diagonal (``"diagonal"``), and, if ``reset_every`` is set, put back to
    :math:`\lambda I` after every ``reset_every`` updates. ``discount=1`` and
    ``reset_every=None`` give NeuralUCB exactly.

    Parameters
    ----------
    feature_dim, hidden_dims, lambda_, alpha, lr, confidence, jacobian, exploration, seed, device, training,
    training_options
        As for :class:`NeuralUCBAgent`.
    discount : float, default 0.999
        :math:`\gamma \in (0, 1]`.
    reset_every : int or None, default None
        Reset the confidence matrix to :math:`\lambda I` after this many updates.

    Examples
    --------
    >>> agent = ForgettingNeuralUCBAgent(9, (8,), discount=0.99, reset_every=100, seed=0)
    >>> X = torch.eye(5, 9)
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> type(agent.confidence_matrix).__name__, agent.t
    ('DiscountedFullConfidence', 1)
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        confidence: str = "full",
        jacobian: str = "analytic",
        discount: float = 0.999,
        reset_every: int | None = None,
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.discount = check_discount("discount", discount)
        self.reset_every = None if reset_every is None else check_int("reset_every", reset_every, minimum=1)
        super().__init__(feature_dim, hidden_dims, lambda_=lambda_, alpha=alpha, lr=lr, confidence=confidence,
                         jacobian=jacobian, exploration=exploration, seed=seed, device=device, training=training,
                         training_options=training_options)
        self.n_resets = 0

    def _new_confidence_matrix(self) -> Any:
        return DISCOUNTED_CONFIDENCE_MODES[self.confidence](self.p, self.lambda_, self.discount, device=self.device)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        super()._learn(arm, x, reward, cache)
        if self.reset_every is not None and (self.t + 1) % self.reset_every == 0:
            self.confidence_matrix = self._new_confidence_matrix()
            self.n_resets += 1


class DiagonalNeuralUCBAgent(NeuralUCBAgent):
    r"""NeuralUCB with the diagonal confidence, for many arms: no Jacobian is formed.

    The same agent as ``NeuralUCBAgent(confidence="diagonal")`` (same network, width,
    update and Adam step; tested step by step), but the width of all ``K`` arms comes
    from :func:`~bandits_lib.jacobian.diagonal_quadratic_form` (memory ``O(K * width)``
    instead of ``O(K * p)``), the rows are not de-duplicated, and only the played arm's
    gradient is computed, at update time (the parameters have not moved since the
    decision). Rows are scored in blocks of ``chunk_size``.

    Parameters
    ----------
    feature_dim, hidden_dims, lambda_, alpha, lr, exploration, seed, device, training, training_options
        As for :class:`NeuralUCBAgent`.

    Examples
    --------
    >>> agent = DiagonalNeuralUCBAgent(3, (16,), seed=0)
    >>> X = torch.rand(100_000, 3, generator=torch.Generator().manual_seed(0))
    >>> arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
    >>> agent.p, agent.t
    (81, 1)
    """

    scores_rows = False
    #: Rows scored per block: small blocks keep the temporaries in cache (about twice as fast at 100,000 rows).
    chunk_size = 4096

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (32,),
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        exploration: str | ExplorationRule = "ucb",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        training: str = "online",
        training_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(feature_dim, hidden_dims, lambda_=lambda_, alpha=alpha, lr=lr, confidence="diagonal",
                         jacobian="analytic", exploration=exploration, seed=seed, device=device, training=training,
                         training_options=training_options)

    def _score(self, features, info: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        outputs, squared = [], []
        for rows in features.X.split(self.chunk_size):
            activations, pre_activations = mlp_forward(self.model, rows)
            squared.append(diagonal_quadratic_form(self.model, activations, pre_activations,
                                                   self.confidence_matrix.A_diag))
            outputs.append(activations[-1][:, 0])
        output = torch.cat(outputs)
        return output, confidence_width(torch.cat(squared)), None

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        output, J = forward_and_jacobian(self.model, x.unsqueeze(0))
        self.confidence_matrix.update(J[0])
        if self.trainer is None:
            self._step(2.0 * (output[0] - reward) * J[0])
        else:
            self.trainer.observe(self.model, x, reward, arm)


__all__ = ["NeuralUCBAgent", "LastLayerNeuralUCBAgent", "NeuralLinUCBAgent", "NeuralTSAgent",
           "ForgettingNeuralUCBAgent", "DiagonalNeuralUCBAgent"]
