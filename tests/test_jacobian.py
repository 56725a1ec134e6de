import pytest
import torch
from torch import nn

from bandits_lib.networks import EmbeddingNetwork, NeuralBanditNetwork, count_parameters
from bandits_lib.jacobian import compute_jacobian, forward_and_jacobian, jacobian_loop, mlp_backward, mlp_forward
from bandits_lib.networks import make_mlp, seeded_generator


def autograd_rows(scalar_fn, params, X):
    """Independent reference: one torch.autograd.grad per row of X."""
    rows = []
    for x in X:
        grads = torch.autograd.grad(scalar_fn(x.unsqueeze(0)), params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


@pytest.mark.parametrize("seed,dims,k", [(0, (128, 64), 50), (1, (7,), 13), (2, (16, 8, 4), 5)])
@pytest.mark.parametrize("mode", ["vmap", "analytic", "loop"])
def test_jacobian_modes_equal_autograd_loop(seed, dims, k, mode):
    torch.manual_seed(seed)
    net = NeuralBanditNetwork(9, dims, seed=seed)
    X = torch.randn(k, 9)
    reference = autograd_rows(lambda x: net(x).sum(), list(net.parameters()), X)
    J = compute_jacobian(net, X, mode)
    assert J.shape == (k, count_parameters(net))
    torch.testing.assert_close(J, reference, rtol=1e-5, atol=1e-6)


def test_analytic_outputs_equal_forward():
    net = NeuralBanditNetwork(9, (32, 16), seed=3)
    X = torch.randn(20, 9)
    outputs, _ = forward_and_jacobian(net, X)
    torch.testing.assert_close(outputs, net(X)[:, 0])


def test_analytic_gradient_of_model_with_embedding_layer():
    model = EmbeddingNetwork(9, (32, 16), embedding_dim=8, seed=4)
    X = torch.randn(6, 9)
    acts, pre = mlp_forward(model, X)
    torch.testing.assert_close(acts[-2], model(X)["embedding"])
    J = mlp_backward(model, acts, pre, torch.ones(1))
    reference = autograd_rows(lambda x: model(x)["prediction"].sum(), list(model.parameters()), X)
    torch.testing.assert_close(J, reference, rtol=1e-5, atol=1e-6)


def test_analytic_gradient_with_fixed_readout():
    network = make_mlp(9, (16,), 5, seeded_generator(0))
    theta = torch.randn(5)
    X = torch.randn(4, 9)
    acts, pre = mlp_forward(network, X)
    J = mlp_backward(network, acts, pre, theta)
    reference = autograd_rows(lambda x: (network(x) @ theta).sum(), list(network.parameters()), X)
    torch.testing.assert_close(J, reference, rtol=1e-5, atol=1e-6)


def test_jacobian_at_relu_kink_matches_autograd():
    """Inputs that make some pre-activations exactly 0 (relu'(0) = 0 in autograd)."""
    net = NeuralBanditNetwork(2, (3,), seed=0)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        net.layers[0].bias.zero_()
    X = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    torch.testing.assert_close(compute_jacobian(net, X, "analytic"), jacobian_loop(net, X))


def test_unsupported_network_for_analytic():
    with pytest.raises(TypeError, match="analytic"):
        compute_jacobian(nn.Sequential(nn.Linear(3, 1), nn.Tanh()), torch.randn(2, 3), "analytic")
    with pytest.raises(ValueError, match="jacobian"):
        compute_jacobian(NeuralBanditNetwork(3, (2,)), torch.randn(2, 3), "jacrev")


def test_network_sizes_and_seeding():
    net = NeuralBanditNetwork(9, (128, 64), seed=0)
    assert count_parameters(net) == 9601
    same, other = NeuralBanditNetwork(9, (128, 64), seed=0), NeuralBanditNetwork(9, (128, 64), seed=1)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters()))
    assert not torch.equal(net.layers[0].weight, other.layers[0].weight)
    bound = 1 / 9 ** 0.5
    assert net.layers[0].weight.abs().max() <= bound
