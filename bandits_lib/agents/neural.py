r"""Neural bandits: NeuralUCB and its two practical relatives.

* :class:`NeuralUCBAgent` -- NeuralUCB (Zhou, Li and Gu, 2020) as Chapter 3 builds it:
  exploitation :math:`g(x;\theta)`, bonus :math:`\alpha\sqrt{\nabla g^\top A^{-1}\nabla g}`
  with one shared :math:`p\times p` matrix :math:`A` over the gradients of all
  :math:`p` parameters, then one Adam step on the squared error of the played arm.
* :class:`LastLayerNeuralUCBAgent` -- the draft's "practical NeuralUCB": the bonus uses
  one shared matrix over the *embeddings* (the last layer's inputs) only.
* :class:`NeuralLinUCBAgent` -- the draft's hybrid: disjoint LinUCB on the embeddings
  of a network trained through the played arm's linear head.

All three evaluate the network once per *distinct* feature row (5 per user in the pet
shop, not 50) and train with gradients from the closed-form backward pass of
:mod:`bandits_lib.jacobian` (equal to autograd's; tested). NeuralUCB and last-layer
NeuralUCB also *decide* on the distinct rows (the arm is the first arm of the best row,
exactly the arm ``argmax`` over all arms picks) and every agent takes its Adam step
through :func:`~bandits_lib.networks.fused_adam_step_` (bit-identical to
``optimizer.step()``, a fraction of its Python cost). The performance appendix measures
each of these choices.

Taught in: chapters/03_2_neuralucb, chapters/03_4_online_learning,
chapters/03_5_cost_of_exploration, chapters/appendix_performance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_hidden_dims, check_int
from ..exploration import CONFIDENCE_MODES, DisjointRidge, FullConfidence, _cast, ucb_bonus
from ..jacobian import (
    JACOBIAN_MODES,
    compute_jacobian,
    forward_and_jacobian,
    mlp_backward,
    mlp_forward,
    unit_output_grad,
)
from ..networks import (
    NeuralBanditModel,
    NeuralBanditNetwork,
    count_parameters,
    flat_gradient_buffer,
    fused_adam_step_,
    make_mlp,
    seeded_generator,
)
from .base import UCBAgent


class _NeuralAgent(UCBAgent):
    """Shared set-up of the neural agents: hyperparameter checks, the Adam step, and the
    decision on distinct rows for agents that score rows (``_score_rows``)."""

    model: nn.Module

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int], lambda_: float, alpha: float, lr: float,
                 seed: int | None, device: torch.device | str) -> None:
        self.hidden_dims = check_hidden_dims("hidden_dims", hidden_dims)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.lr = check_float("lr", lr, strictly_positive=True)
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        super().__init__(feature_dim, device)

    def _init_optimizer(self) -> None:
        self.model.to(self.device)
        # The fused kernel updates all parameter tensors in one call (same Adam maths).
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr, fused=True)

    def _step(self, flat_gradient: torch.Tensor, scale: float = 1.0) -> None:
        """One Adam step on the gradient ``scale * flat_gradient`` (shape (p,), ``parameters()`` order)."""
        torch.mul(flat_gradient, scale, out=flat_gradient_buffer(self.optimizer))
        fused_adam_step_(self.optimizer)

    # Agents whose scores depend on the feature row only (not on the arm) implement
    # _score_rows(features) -> (exploitation, bonus, cache), one entry per distinct row
    # (features.groups().rows), and get _components and _decide from here.
    def _score_rows(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:
        exploitation, bonus, cache = self._score_rows(features)
        inverse = features.groups().inverse
        return exploitation[inverse], bonus[inverse], cache

    def _decide(self, features) -> tuple[int, Any]:
        if type(self)._components is not _NeuralAgent._components:  # a subclass scores arms its own way
            return super()._decide(features)
        exploitation, bonus, cache = self._score_rows(features)
        # Rows are in order of first appearance: the first arm of the best row is the
        # arm argmax(exploitation[inverse] + bonus[inverse]) picks (see _RowGroups).
        return features.groups().first_arm[int(torch.argmax(exploitation + bonus))], cache


class NeuralUCBAgent(_NeuralAgent):
    r"""NeuralUCB with gradient features and a shared confidence matrix.

    At each step, for every arm :math:`a`:

    .. math:: p_{t,a} = g(x_{t,a};\theta_{t-1})
              + \alpha\sqrt{\nabla g_{t,a}^\top A_{t-1}^{-1}\nabla g_{t,a}},
              \qquad A_t = A_{t-1} + \nabla g_{t,a_t}\nabla g_{t,a_t}^\top,

    with :math:`A_0 = \lambda I_p` and :math:`\nabla g_{t,a}` the gradient of the output
    with respect to all parameters, taken at predict time. After the update of
    :math:`A`, one Adam step on :math:`(g(x_{t,a_t};\theta) - r_t)^2`. Because
    :math:`\theta` has not moved since predict, that loss's gradient is
    :math:`2(g(x_{t,a_t}) - r_t)\nabla g_{t,a_t}`: the same Jacobian row, rescaled.

    Parameters
    ----------
    feature_dim : int
        Input width ``d``.
    hidden_dims : sequence of int, default (128, 64)
        Hidden layers of :class:`NeuralBanditNetwork`.
    lambda_ : float, default 1.0
        Ridge :math:`\lambda > 0`.
    alpha : float, default 1.0
        Exploration weight :math:`\alpha \ge 0`.
    lr : float, default 1e-3
        Adam learning rate.
    confidence : {"full", "diagonal"}, default "full"
        ``"full"`` keeps the exact :math:`A^{-1}` (Sherman--Morrison, never inverted);
        ``"diagonal"`` keeps :math:`\operatorname{diag}(A)` only.
    jacobian : {"vmap", "loop", "analytic"}, default "vmap"
        How the per-arm gradients are computed: ``torch.func.vmap`` over ``grad``, a
        loop of backward passes (the slow reference), or the closed-form backward pass
        of the MLP (fastest on CPU). All three give the same matrix (tested).
    seed : int or None
        Seed of the network initialisation.
    device : str or torch.device, default "cpu"
    confidence_dtype : torch.dtype, optional
        Precision of :math:`A^{-1}` (default float64) or of diag(A) (default float32).

    Attributes
    ----------
    model : NeuralBanditNetwork
    p : int
        Number of network parameters (9,601 for d = 9 and (128, 64)).
    confidence : FullConfidence or DiagonalConfidence

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
        jacobian: str = "vmap",
        seed: int | None = None,
        device: torch.device | str = "cpu",
        confidence_dtype: torch.dtype | None = None,
    ) -> None:
        self.confidence_mode = check_choice("confidence", confidence, tuple(CONFIDENCE_MODES))
        self.jacobian = check_choice("jacobian", jacobian, JACOBIAN_MODES)
        super().__init__(feature_dim, hidden_dims, lambda_, alpha, lr, seed, device)
        self.model = NeuralBanditNetwork(self.feature_dim, self.hidden_dims, seed=self.seed)
        self._init_optimizer()
        self.p = count_parameters(self.model)
        if confidence_dtype is None:
            confidence_dtype = torch.float64 if self.confidence_mode == "full" else torch.float32
        self.confidence = CONFIDENCE_MODES[self.confidence_mode](self.p, self.lambda_, confidence_dtype, self.device)

    def _forward_and_jacobian(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.jacobian == "analytic":
            return forward_and_jacobian(self.model, X)
        with torch.no_grad():
            outputs = self.model(X)[:, 0]
        return outputs, compute_jacobian(self.model, X, self.jacobian)

    def _score_rows(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        outputs, J = self._forward_and_jacobian(groups.rows)  # (n_distinct,), (n_distinct, p)
        solved = self.confidence.prepare(J)  # rows A^{-1} g, or None (see FullConfidence.prepare)
        bonus = _cast(ucb_bonus(self.confidence.quadratic_form(J, solved), self.alpha), outputs.dtype)
        return outputs, bonus, (groups, outputs, J, solved)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, outputs, J, solved = cache
        row = groups.group_of[arm]
        gradient = J[row]
        self.confidence.update(gradient, None if solved is None else solved[row])
        self._step(gradient, 2.0 * (outputs.tolist()[row] - reward))


class LastLayerNeuralUCBAgent(_NeuralAgent):
    r"""Practical NeuralUCB: the confidence matrix lives on the embeddings only.

    With :math:`z = \phi(x)` the network's embedding (input of its last, linear layer):

    .. math:: p_{t,a} = g(x_{t,a}) + \alpha\sqrt{z_{t,a}^\top A^{-1} z_{t,a}},
              \qquad A = \lambda I_e + \textstyle\sum_s z_s z_s^\top,

    one shared :math:`e \times e` matrix (``e = embedding_dim``) instead of
    :math:`p \times p`. After the update of :math:`A`, one Adam step on the squared error.

    Parameters
    ----------
    raw_feature_dim : int
    hidden_dims : sequence of int, default (128, 64)
    embedding_dim : int, default 64
    lambda_, alpha, lr, seed, device
        As for :class:`NeuralUCBAgent`.

    Attributes
    ----------
    model : NeuralBanditModel
    confidence : FullConfidence over ``embedding_dim``
    """

    def __init__(
        self,
        raw_feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int = 64,
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        super().__init__(raw_feature_dim, hidden_dims, lambda_, alpha, lr, seed, device)
        self.model = NeuralBanditModel(self.feature_dim, self.hidden_dims, self.embedding_dim, seed=self.seed)
        self._init_optimizer()
        self.confidence = FullConfidence(self.embedding_dim, self.lambda_, device=self.device)

    def _score_rows(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        activations, pre_activations = mlp_forward(self.model, groups.rows)
        z, prediction = activations[-2], activations[-1][:, 0]  # embedding, output
        Z = _cast(z, self.confidence.dtype)  # once, for the solve, the bonus and the update
        solved = self.confidence.prepare(Z)
        bonus = _cast(ucb_bonus(self.confidence.quadratic_form(Z, solved), self.alpha), z.dtype)
        return prediction, bonus, (groups, activations, pre_activations, Z, solved)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, activations, pre_activations, Z, solved = cache
        row = groups.group_of[arm]
        self.confidence.update(Z[row], None if solved is None else solved[row])
        # The backward pass of every distinct row costs the same few operations as one row's.
        output = activations[-1]
        J = mlp_backward(self.model, activations, pre_activations, unit_output_grad(output))
        self._step(J[row], 2.0 * (output[:, 0].tolist()[row] - reward))


class NeuralLinUCBAgent(_NeuralAgent):
    r"""Neural-LinUCB hybrid: disjoint LinUCB on learned embeddings.

    A network :math:`\phi` maps raw features to embeddings :math:`z = \phi(x)`; each arm
    keeps a ridge regression on them and is scored
    :math:`z_{a}^\top\hat\theta_a + \alpha\sqrt{z_{a}^\top A_a^{-1} z_{a}}`. After the
    played arm's regression is updated, the network takes one Adam step on
    :math:`(\hat\theta_{a_t}^\top \phi(x_{t,a_t}) - r_t)^2`, with :math:`\hat\theta_{a_t}` held fixed.

    Parameters
    ----------
    n_arms : int
    raw_feature_dim : int
    hidden_dims : sequence of int, default (128, 64)
    embedding_dim : int, default 32
    lambda_, alpha, lr, seed, device
        As for :class:`NeuralUCBAgent`.

    Attributes
    ----------
    model : torch.nn.Sequential
        The embedding network :math:`\phi`.
    ridge : DisjointRidge
        Per-arm :math:`A_a^{-1}, b_a, \hat\theta_a` over the embeddings.
    """

    def __init__(
        self,
        n_arms: int,
        raw_feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int = 32,
        lambda_: float = 1.0,
        alpha: float = 1.0,
        lr: float = 1e-3,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        n_arms = check_int("n_arms", n_arms, minimum=1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        super().__init__(raw_feature_dim, hidden_dims, lambda_, alpha, lr, seed, device)
        self.n_arms = n_arms
        self.model = make_mlp(self.feature_dim, self.hidden_dims, self.embedding_dim, seeded_generator(self.seed))
        self._init_optimizer()
        self.ridge = DisjointRidge(n_arms, self.embedding_dim, self.lambda_, device=self.device)

    def _components(self, features) -> tuple[torch.Tensor, torch.Tensor, Any]:
        groups = features.groups()
        activations, pre_activations = mlp_forward(self.model, groups.rows)
        z = activations[-1]
        Z = z[groups.inverse].to(self.ridge.A_inv.dtype)  # (n_arms, embedding_dim), once in the ridge's dtype
        bonus = ucb_bonus(self.ridge.quadratic_form(Z), self.alpha)
        return self.ridge.estimate(Z).to(z.dtype), bonus.to(z.dtype), (groups, activations, pre_activations)

    def _learn(self, arm: int, x: torch.Tensor, reward: float, cache: Any) -> None:
        groups, activations, pre_activations = cache
        row = groups.group_of[arm]
        z = activations[-1][row]
        self.ridge.update(arm, z, reward)
        theta = self.ridge.theta[arm].to(z.dtype)
        # Gradients of theta . phi(x) for every distinct row (same operations as for one row).
        J = mlp_backward(self.model, activations, pre_activations, theta)
        self._step(J[row], 2.0 * (float(torch.dot(z, theta)) - reward))

