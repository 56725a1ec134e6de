"""Bad input gets a clear error naming the argument, and changes nothing."""

import copy
from collections import deque

import numpy as np
import pytest
import torch

from bandits_lib import (
    EpsilonGreedyAgent,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    RandomAgent,
    run_comparison,
)

D = 9


def make_agents():
    return {
        "linucb": LinUCBAgent(5, D),
        "neural_full": NeuralUCBAgent(D, (8,), confidence="full", seed=0),
        "neural_diag": NeuralUCBAgent(D, (8,), confidence="diagonal", jacobian="analytic", seed=0),
        "last_layer": LastLayerNeuralUCBAgent(D, (8,), embedding_dim=4, seed=0),
        "hybrid": NeuralLinUCBAgent(5, D, (8,), embedding_dim=4, seed=0),
        "eps": EpsilonGreedyAgent(5, D, seed=0),
        "random": RandomAgent(seed=0),
    }


def snapshot(agent):
    """Every tensor and number the agent holds, deep-copied."""
    state = {}
    for key, value in vars(agent).items():
        if key in ("_checked",):
            continue
        if isinstance(value, torch.nn.Module):
            state[key] = {k: v.clone() for k, v in value.state_dict().items()}
        elif isinstance(value, torch.optim.Optimizer):
            state[key] = copy.deepcopy(value.state_dict())
        elif isinstance(value, np.random.Generator):
            state[key] = copy.deepcopy(value.bit_generator.state)
        elif isinstance(value, torch.Generator):
            state[key] = value.get_state().clone()
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            state[key] = {k: (v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)) for k, v in vars(value).items()}
        elif isinstance(value, torch.Tensor):
            state[key] = value.clone()
        else:
            state[key] = copy.deepcopy(value)
    return state


def same(x, y):
    """Recursive equality over tensors, containers and plain values."""
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.shape == y.shape and torch.equal(x, y)
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple, deque)):  # deque: a sliding window's history
        return type(x) is type(y) and len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if hasattr(x, "__dict__") and not isinstance(x, type):
        return same(vars(x), vars(y))
    return x == y


def assert_same(a, b):
    for key in a:
        assert same(a[key], b[key]), f"{key} changed"
    assert a.keys() == b.keys()


def trained(agent, steps=3):
    X = torch.eye(5, D)
    X[:, 5:] = torch.rand(5, 4, generator=torch.Generator().manual_seed(0))
    for _ in range(steps):
        arm = agent.predict(X)
        agent.update(arm, X[arm], 1.0)
    return agent, X


BAD_FEATURES = [
    (torch.zeros(5, D + 1), ValueError, "columns"),
    (torch.zeros(D), ValueError, "2-D"),
    (torch.zeros(0, D), ValueError, "at least one row"),
    (torch.full((5, D), float("nan")), ValueError, "finite"),
    (torch.full((5, D), float("inf")), ValueError, "finite"),
    ([[0.0] * D] * 5, TypeError, "feature_vectors"),
    (np.array([["a"] * D] * 5), TypeError, "feature_vectors"),
    (torch.zeros(5, D, dtype=torch.complex64), TypeError, "real"),
]


@pytest.mark.parametrize("name", list(make_agents()))
@pytest.mark.parametrize("features,error,message", BAD_FEATURES)
def test_bad_features_to_predict(name, features, error, message):
    agent, _ = trained(make_agents()[name])
    before = snapshot(agent)
    with pytest.raises(error, match=message):
        agent.predict(features)
    assert_same(before, snapshot(agent))


@pytest.mark.parametrize("name", list(make_agents()))
def test_bad_updates_change_nothing(name):
    agent, X = trained(make_agents()[name])
    arm = agent.predict(X)
    before = snapshot(agent)
    bad_calls = [
        ((arm, X[arm], float("nan")), ValueError, "reward"),
        ((arm, X[arm], float("inf")), ValueError, "reward"),
        ((arm, X[arm], "1"), TypeError, "reward"),
        ((arm, X[arm], None), TypeError, "reward"),
        ((5, X[arm], 1.0), ValueError, "chosen_arm"),
        ((-1, X[arm], 1.0), ValueError, "chosen_arm"),
        ((1.5, X[arm], 1.0), TypeError, "chosen_arm"),
        ((arm, X[arm][:-1], 1.0), ValueError, "feature_vector"),
        ((arm, X[arm] + 1.0, 1.0), ValueError, "feature_vector"),
        ((arm, torch.full((D,), float("nan")), 1.0), ValueError, "feature_vector"),
    ]
    for args, error, message in bad_calls:
        with pytest.raises(error, match=message):
            agent.update(*args)
        assert_same(before, snapshot(agent))
    agent.update(arm, X[arm], 1)  # the pending decision survived the rejected calls
    with pytest.raises(ValueError, match="predict"):
        agent.update(arm, X[arm], 1)  # one update per predict


@pytest.mark.parametrize("name", list(make_agents()))
def test_update_before_predict(name):
    agent = make_agents()[name]
    with pytest.raises(ValueError, match="predict"):
        agent.update(0, torch.zeros(D), 1.0)


def test_wrong_number_of_arms():
    agent = LinUCBAgent(5, D)
    with pytest.raises(ValueError, match="one row per arm"):
        agent.predict(torch.zeros(6, D))


@pytest.mark.parametrize("factory,name", [
    (lambda: LinUCBAgent(5, D, alpha=-1), "alpha"),
    (lambda: LinUCBAgent(5, D, lambda_=0), "lambda_"),
    (lambda: LinUCBAgent(0, D), "n_products"),
    (lambda: LinUCBAgent(5, 0), "feature_dim"),
    (lambda: NeuralUCBAgent(D, lambda_=-1.0), "lambda_"),
    (lambda: NeuralUCBAgent(D, lr=0.0), "lr"),
    (lambda: NeuralUCBAgent(D, alpha=float("nan")), "alpha"),
    (lambda: NeuralUCBAgent(D, hidden_dims=()), "hidden_dims"),
    (lambda: NeuralUCBAgent(D, hidden_dims=(8, 0)), "hidden_dims"),
    (lambda: NeuralUCBAgent(D, hidden_dims="64"), "hidden_dims"),
    (lambda: NeuralUCBAgent(D, confidence="low-rank"), "confidence"),
    (lambda: NeuralUCBAgent(D, jacobian="jacfwd"), "jacobian"),
    (lambda: NeuralUCBAgent(D, device="tpu"), "device"),
    (lambda: LastLayerNeuralUCBAgent(D, embedding_dim=0), "embedding_dim"),
    (lambda: NeuralLinUCBAgent(0, D), "n_arms"),
    (lambda: EpsilonGreedyAgent(5, D, epsilon=1.5), "epsilon"),
    (lambda: NeuralUCBAgent(D, seed=-3), "seed"),
])
def test_bad_hyperparameters(factory, name):
    with pytest.raises((ValueError, TypeError), match=name):
        factory()


def test_cuda_requested_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        LinUCBAgent(5, D, device="cuda")


@pytest.mark.parametrize("kwargs,name", [
    ({"n_interactions": 0}, "n_interactions"),
    ({"n_interactions": 10, "market_shock_at": 10}, "market_shock_at"),
    ({"n_interactions": 10, "seeds": []}, "seeds"),
    ({"n_interactions": 10, "seeds": [1, 1]}, "seeds"),
    ({"n_interactions": 10, "n_users": 0}, "n_users"),
])
def test_bad_experiment_arguments(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        run_comparison({"random": RandomAgent}, progress=False, n_jobs=1, **kwargs)
    with pytest.raises(ValueError, match="agents"):
        run_comparison({}, 10)
