r"""Per-arm gradients of the network output: the Jacobian ``J``.

For ``K`` feature vectors ``x_1..x_K`` the Jacobian of the outputs with respect to the
``p`` parameters is the ``K x p`` matrix whose row ``i`` is
:math:`\nabla_\theta g(x_i;\theta)^\top`. Three ways to compute it, all returning the
same matrix with columns in ``model.parameters()`` order:

* :func:`jacobian_loop` -- one backward pass per arm (the "K-pass" reference);
* :func:`jacobian_vmap` -- ``torch.func.vmap`` over ``torch.func.grad``: one
  vectorised pass for all arms, for any network;
* :func:`jacobian_analytic` -- the closed-form backward pass of a Linear/ReLU network
  written as batched tensor products; the fastest on CPU, tested against the other two.

:func:`diagonal_quadratic_form` needs no Jacobian at all: the diagonal approximation of
:math:`g^\top A^{-1} g` for every row, layer by layer (Chapter 4, millions of products).

Taught in: chapters/03_3_jacobian, chapters/04_4_scale (diagonal_quadratic_form).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.nn import functional as F

from .networks import EmbeddingNetwork, NeuralBanditNetwork

JACOBIAN_MODES = ("vmap", "loop", "analytic")


def jacobian_loop(model: nn.Module, feature_vectors: torch.Tensor) -> torch.Tensor:
    """Jacobian by ``K`` separate backward passes.

    Parameters
    ----------
    model : nn.Module
        Maps (n, d) to (n, 1).
    feature_vectors : torch.Tensor, shape (K, d)

    Returns
    -------
    torch.Tensor, shape (K, p)
    """
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for x in feature_vectors:
        output = model(x.unsqueeze(0)).sum()
        grads = torch.autograd.grad(output, params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def jacobian_vmap(model: nn.Module, feature_vectors: torch.Tensor) -> torch.Tensor:
    """Jacobian with ``vmap(grad(f))``: the per-sample gradient for all arms at once.

    Parameters
    ----------
    model : nn.Module
        Maps (n, d) to (n, 1).
    feature_vectors : torch.Tensor, shape (K, d)

    Returns
    -------
    torch.Tensor, shape (K, p)
    """
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def output_of_one(parameters: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (parameters, buffers), (x.unsqueeze(0),)).squeeze()

    per_arm = vmap(grad(output_of_one), in_dims=(None, 0))(params, feature_vectors)
    k = feature_vectors.shape[0]
    return torch.cat([per_arm[name].reshape(k, -1) for name in params], dim=1)


def mlp_linears(model: nn.Module) -> tuple[list[nn.Linear], list[bool]]:
    """The linear layers of a book network in order, and whether a ReLU follows each.

    Works for :class:`NeuralBanditNetwork`, :class:`EmbeddingNetwork` (the embedding
    layer has no activation) and a plain ``nn.Sequential`` of Linear/ReLU layers.
    """
    if isinstance(model, NeuralBanditNetwork):
        linears = [*model.layers, model.output_layer]
        return linears, [True] * len(model.layers) + [False]
    if isinstance(model, EmbeddingNetwork):
        linears, relu = mlp_linears(model.feature_extractor)
        return [*linears, model.output_layer], [*relu, False]
    if isinstance(model, nn.Sequential):
        linears: list[nn.Linear] = []
        relu: list[bool] = []
        for module in model:
            if isinstance(module, nn.Linear):
                linears.append(module)
                relu.append(False)
            elif isinstance(module, nn.ReLU) and linears and not relu[-1]:
                relu[-1] = True
            else:
                raise TypeError(f"jacobian='analytic' supports Linear/ReLU layers only, found {type(module).__name__}")
        return linears, relu
    raise TypeError(f"jacobian='analytic' needs a Linear/ReLU network, got {type(model).__name__}")


@torch.no_grad()
def mlp_forward(model: nn.Module, feature_vectors: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Forward pass keeping what backpropagation needs.

    Returns
    -------
    activations : list of torch.Tensor
        ``[a_0 = x, a_1, ..., a_L]``, each shape (K, width); ``a_L`` is the output.
    pre_activations : list of torch.Tensor
        ``[z_1, ..., z_L]``.
    """
    activations = [feature_vectors]
    pre_activations = []
    for layer, has_relu in zip(*mlp_linears(model)):
        z = F.linear(activations[-1], layer.weight, layer.bias)  # one addmm, no transposed view
        pre_activations.append(z)
        activations.append(torch.relu(z) if has_relu else z)
    return activations, pre_activations


@torch.no_grad()
def mlp_backward(
    model: nn.Module, activations: list[torch.Tensor], pre_activations: list[torch.Tensor], output_grad: torch.Tensor
) -> torch.Tensor:
    r"""Per-row gradient of ``output_grad . a_L`` with respect to every parameter.

    With :math:`z_l = W_l a_{l-1} + b_l`, :math:`a_l = \sigma_l(z_l)` (ReLU or identity)
    and :math:`\delta_L = \partial g / \partial a_L` (``output_grad``), backpropagation
    gives :math:`\delta_{l-1} = W_l^\top (\delta_l \odot \sigma_l'(z_l))`,
    :math:`\partial g/\partial W_l = (\delta_l \odot \sigma_l'(z_l))\, a_{l-1}^\top`
    and :math:`\partial g/\partial b_l = \delta_l \odot \sigma_l'(z_l)`, for all rows at once.

    Parameters
    ----------
    activations, pre_activations
        From :func:`mlp_forward` (any subset of rows, consistently).
    output_grad : torch.Tensor, shape (K, m) or (m,)
        Gradient of the scalar of interest with respect to the network output ``a_L``.

    Returns
    -------
    torch.Tensor, shape (K, p), columns in ``model.parameters()`` order
    """
    linears, relu = mlp_linears(model)
    k = activations[0].shape[0]
    delta = output_grad.expand(k, -1)
    blocks: list[torch.Tensor] = []
    for index in range(len(linears) - 1, -1, -1):
        if relu[index]:
            delta = torch.where(pre_activations[index] > 0, delta, 0.0)
        # d g / d b_l, then d g / d W_l (an outer product per row); reversed below to parameters() order.
        blocks.append(delta)
        blocks.append((delta.unsqueeze(2) * activations[index].unsqueeze(1)).view(k, -1))
        if index > 0:
            delta = torch.mm(delta, linears[index].weight)
    blocks.reverse()
    return torch.cat(blocks, dim=1)


_UNIT: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def unit_output_grad(output: torch.Tensor) -> torch.Tensor:
    """``torch.ones(1)`` in ``output``'s dtype and device (d g / d g for a scalar output), made once; do not modify."""
    key = (output.dtype, output.device)
    unit = _UNIT.get(key)
    if unit is None:
        unit = _UNIT[key] = torch.ones(1, dtype=output.dtype, device=output.device)
    return unit


def forward_and_jacobian(model: nn.Module, feature_vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs and closed-form Jacobian of a scalar Linear/ReLU network, all arms as one batch.

    Parameters
    ----------
    model : NeuralBanditNetwork or nn.Sequential of Linear/ReLU ending in one output
    feature_vectors : torch.Tensor, shape (K, d)

    Returns
    -------
    outputs : torch.Tensor, shape (K,)
    jacobian : torch.Tensor, shape (K, p)
    """
    activations, pre_activations = mlp_forward(model, feature_vectors)
    output = activations[-1]
    return output[:, 0], mlp_backward(model, activations, pre_activations, unit_output_grad(output))


def jacobian_analytic(model: nn.Module, feature_vectors: torch.Tensor) -> torch.Tensor:
    """Closed-form Jacobian of a Linear/ReLU network, shape (K, p); see :func:`forward_and_jacobian`."""
    return forward_and_jacobian(model, feature_vectors)[1]


def compute_jacobian(model: nn.Module, feature_vectors: torch.Tensor, mode: str = "vmap") -> torch.Tensor:
    """Dispatch to the Jacobian of ``mode`` in ``("vmap", "loop", "analytic")``; shape (K, p)."""
    if mode == "vmap":
        return jacobian_vmap(model, feature_vectors)
    if mode == "loop":
        return jacobian_loop(model, feature_vectors)
    if mode == "analytic":
        return jacobian_analytic(model, feature_vectors)
    raise ValueError(f"jacobian must be one of {JACOBIAN_MODES}, got {mode!r}")


def diagonal_quadratic_form(model: torch.nn.Module, activations: list[torch.Tensor],
                            pre_activations: list[torch.Tensor], A_diag: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_j g_{kj}^2 / A_{jj}` for every row, without forming the gradients :math:`g_k`.

    For a layer :math:`z = W a + b` whose output receives the backpropagated signal
    :math:`\delta` (after the ReLU mask), :math:`\partial g / \partial W_{ij} = \delta_i a_j` and
    :math:`\partial g / \partial b_i = \delta_i`, so the layer contributes

    .. math:: \sum_{i,j} \frac{\delta_i^2 a_j^2}{A_{W,ij}} + \sum_i \frac{\delta_i^2}{A_{b,i}}
              = \big((a \odot a)\, (1/A_W)^\top\big) \cdot (\delta \odot \delta) + (\delta\odot\delta)\cdot(1/A_b):

    one matrix product per layer, the cost of a forward pass, for all rows at once.

    Parameters
    ----------
    model : Linear/ReLU network with a scalar output (e.g. :class:`~bandits_lib.networks.NeuralBanditNetwork`)
    activations, pre_activations : lists of torch.Tensor
        From :func:`~bandits_lib.jacobian.mlp_forward` on the ``K`` rows.
    A_diag : torch.Tensor, shape (p,)
        :math:`\operatorname{diag}(A)` with parameters in ``model.parameters()`` order.

    Returns
    -------
    torch.Tensor, shape (K,)
    """
    linears, relu = mlp_linears(model)
    inverse = torch.reciprocal(A_diag)
    offsets, offset = [], 0
    for layer in linears:
        n_weight, n_bias = layer.weight.numel(), layer.bias.numel()
        offsets.append((offset, offset + n_weight, offset + n_weight + n_bias))
        offset += n_weight + n_bias
    k = activations[0].shape[0]
    delta = torch.ones(k, 1, dtype=activations[0].dtype, device=activations[0].device)
    total = torch.zeros(k, dtype=inverse.dtype, device=inverse.device)
    for index in range(len(linears) - 1, -1, -1):
        layer = linears[index]
        if relu[index]:
            delta = torch.where(pre_activations[index] > 0, delta, 0.0)
        start, middle, stop = offsets[index]
        inv_weight = inverse[start:middle].view(layer.out_features, layer.in_features)
        inv_bias = inverse[middle:stop]
        delta_sq = (delta * delta).to(inverse.dtype)
        a_sq = (activations[index] * activations[index]).to(inverse.dtype)
        total += ((a_sq @ inv_weight.T) * delta_sq).sum(dim=1) + delta_sq @ inv_bias
        if index > 0:
            delta = delta @ layer.weight
    return total
