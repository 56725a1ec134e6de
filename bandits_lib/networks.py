r"""Neural networks of the book.

* :class:`NeuralBanditNetwork` -- the MLP ``g(x; theta)`` of NeuralUCB: ReLU hidden
  layers and a linear scalar output (no sigmoid, see Chapter 3, section 3.4).
* :class:`EmbeddingNetwork` -- an embedding network :math:`\phi` followed by a linear
  output layer; its forward returns the prediction *and* the embedding (last-layer
  NeuralUCB keeps its confidence matrix on the embedding).

Every constructor takes a ``seed`` and initialises its weights from a private
``torch.Generator`` (PyTorch's default ``nn.Linear`` scheme), never from global state.

Taught in: chapters/03_1_beyond_linear, chapters/03_2_neuralucb; the Adam step: chapters/appendix_performance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.optim.optimizer as _optimizer_module
from torch import nn
from torch.nn import functional as F

from ._validation import check_hidden_dims, check_int


def init_linear_(layer: nn.Linear, generator: torch.Generator) -> None:
    """Re-initialise ``layer`` in place as ``nn.Linear`` does, but from ``generator``.

    Weights and biases are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is what
    PyTorch's default (Kaiming-uniform with a = sqrt(5)) amounts to.
    """
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound, generator=generator)


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (a fresh random seed if ``None``)."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(check_int("seed", seed, minimum=0))
    return generator


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters ``p`` of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def make_mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int, generator: torch.Generator) -> nn.Sequential:
    """``Linear-ReLU-...-Linear(out_dim)`` (no activation after the last layer), initialised from ``generator``.

    The embedding network of :class:`EmbeddingNetwork` and of the Neural-LinUCB hybrid.
    """
    widths = (in_dim, *hidden_dims)
    blocks: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        blocks += [nn.Linear(a, b), nn.ReLU()]
    blocks.append(nn.Linear(widths[-1], out_dim))
    network = nn.Sequential(*blocks)
    for module in network:
        if isinstance(module, nn.Linear):
            init_linear_(module, generator)
    return network


class NeuralBanditNetwork(nn.Module):
    """MLP ``g(x; theta)``: ReLU hidden layers, one linear scalar output.

    Parameters
    ----------
    feature_dim : int
        Input width ``d``.
    hidden_dims : sequence of int, default (128, 64)
        Widths of the hidden layers (at least one).
    seed : int or None
        Seed of the weight initialisation.

    Notes
    -----
    With ``d = 9`` and ``(128, 64)`` the network has
    ``p = (9*128 + 128) + (128*64 + 64) + (64 + 1) = 9,601`` parameters.

    Examples
    --------
    >>> net = NeuralBanditNetwork(9, (128, 64), seed=0)
    >>> count_parameters(net), net(torch.zeros(3, 9)).shape
    (9601, torch.Size([3, 1]))
    """

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int] = (128, 64), seed: int | None = None) -> None:
        super().__init__()
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.hidden_dims = check_hidden_dims("hidden_dims", hidden_dims)
        widths = (self.feature_dim, *self.hidden_dims)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.output_layer = nn.Linear(widths[-1], 1)
        generator = seeded_generator(seed)
        for layer in (*self.layers, self.output_layer):
            init_linear_(layer, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted reward, shape (n, 1), for inputs ``x`` of shape (n, feature_dim)."""
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.output_layer(x)


class EmbeddingNetwork(nn.Module):
    """Embedding network + linear head; forward returns prediction and embedding.

    Parameters
    ----------
    feature_dim : int
        Input width ``d``.
    hidden_dims : sequence of int, default (128, 64)
        Hidden ReLU layers of the extractor.
    embedding_dim : int, default 64
        Width of the embedding (the extractor's last, linear layer).
    seed : int or None
        Seed of the weight initialisation.

    Examples
    --------
    >>> model = EmbeddingNetwork(9, (128, 64), embedding_dim=32, seed=0)
    >>> out = model(torch.zeros(5, 9))
    >>> out["prediction"].shape, out["embedding"].shape
    (torch.Size([5, 1]), torch.Size([5, 32]))
    """

    def __init__(
        self,
        feature_dim: int,
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int = 64,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.feature_dim = check_int("feature_dim", feature_dim, minimum=1)
        self.hidden_dims = check_hidden_dims("hidden_dims", hidden_dims)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        generator = seeded_generator(seed)
        self.feature_extractor = make_mlp(self.feature_dim, self.hidden_dims, self.embedding_dim, generator)
        self.output_layer = nn.Linear(self.embedding_dim, 1)
        init_linear_(self.output_layer, generator)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"prediction": (n, 1), "embedding": (n, embedding_dim)}`` for ``x`` of shape (n, d)."""
        embedding = self.feature_extractor(x)
        return {"prediction": self.output_layer(embedding), "embedding": embedding}


# ---------------------------------------------------------------------- one Adam step per bandit round
def flat_gradient_buffer(optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One flat tensor, shape (p,), whose consecutive slices *are* the parameters' ``.grad``.

    Writing a flat gradient (columns in ``parameters()`` order, as the Jacobians of
    :mod:`bandits_lib.jacobian`) into it sets every ``.grad`` at once, without building
    per-parameter views at every step. Made on first use and made again whenever a
    ``.grad`` is no longer such a slice (``zero_grad()``, a deep copy, new parameters).
    """
    params = optimizer.param_groups[0]["params"]
    first = params[0].grad
    flat = None if first is None else first._base
    if flat is None or any(p.grad is None or p.grad._base is not flat for p in params):
        flat = torch.zeros(sum(p.numel() for p in params), dtype=params[0].dtype, device=params[0].device)
        offset = 0
        for p in params:
            p.grad = flat[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
    return flat


def fused_adam_step_(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` of a fused Adam, minus most of its Python bookkeeping.

    The same kernel (``torch._fused_adam_``) on the same tensors (the optimizer's own
    moment and step tensors), so the parameters and the optimizer state end up
    bit-identical to ``optimizer.step()`` (tested). ``optimizer.step()`` itself costs
    several hundred microseconds of Python per call here, more than the arithmetic of
    a bandit round; this path costs two tensor operations. Anything it does not cover
    (other optimizers or options, hooks, first step, missing gradients) falls back to
    ``optimizer.step()``.
    """
    groups = optimizer.param_groups
    group = groups[0]
    if (type(optimizer) is not torch.optim.Adam or len(groups) != 1 or not group.get("fused")
            or group["amsgrad"] or group["capturable"] or group["differentiable"]
            or group.get("decoupled_weight_decay", False) or isinstance(group["lr"], torch.Tensor)
            or optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
            or _optimizer_module._global_optimizer_pre_hooks or _optimizer_module._global_optimizer_post_hooks):
        optimizer.step()
        return
    params = group["params"]
    states = [optimizer.state.get(p) for p in params]
    grads = [p.grad for p in params]
    if any(not state for state in states) or any(g is None for g in grads):
        optimizer.step()  # initialises the state (first step) or handles missing gradients
        return
    steps = [state["step"] for state in states]
    beta1, beta2 = group["betas"]
    with torch.no_grad():
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params, grads, [state["exp_avg"] for state in states], [state["exp_avg_sq"] for state in states], [],
            steps, amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
            eps=group["eps"], maximize=group["maximize"], grad_scale=None, found_inf=None,
        )
