"""Bad input gets a clear error naming the argument, and changes nothing."""

import numpy as np
import pytest
import torch

from agent_cases import CASES, info_for
from bandits_lib import (
    EpsilonGreedyAgent,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    RandomAgent,
    run_comparison,
)
from bandits_lib.checkpoint import state_digest

D = 9
K = 5


def snapshot(agent):
    """The agent's parameters and learned state (generators, optimiser, matrices), as one digest."""
    return repr(agent.get_params()), state_digest(agent)


def trained(name, steps=3):
    agent = CASES[name](K, D, 0)
    X = torch.eye(K, D)
    X[:, 5:] = torch.rand(K, 4, generator=torch.Generator().manual_seed(0))
    info = info_for(K)
    for _ in range(steps):
        arm = agent.predict(X, info)
        agent.update(arm, X[arm], 1.0)
    return agent, X, info


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


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("features,error,message", BAD_FEATURES)
def test_bad_features_to_predict(name, features, error, message):
    agent, _, info = trained(name)
    before = snapshot(agent)
    with pytest.raises(error, match=message):
        agent.predict(features, info)
    assert before == snapshot(agent)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_info_is_refused_and_changes_nothing(name):
    agent, X, info = trained(name)
    before = snapshot(agent)
    with pytest.raises(TypeError, match="info"):
        agent.predict(X, [1, 2])
    assert before == snapshot(agent)
    if CASES[name].reads_info:
        for bad in ({}, {"user": -1, "expected_rewards": [0.1] * (K + 1)}, {"user": 10**6, "expected_rewards": "x"}):
            with pytest.raises((ValueError, TypeError), match="info"):
                agent.predict(X, bad)
            assert before == snapshot(agent)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_updates_change_nothing(name):
    agent, X, info = trained(name)
    arm = agent.predict(X, info)
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
        assert before == snapshot(agent)
    agent.update(arm, X[arm], 1)  # the pending decision survived the rejected calls
    with pytest.raises(ValueError, match="predict"):
        agent.update(arm, X[arm], 1)  # one update per predict


@pytest.mark.parametrize("name", list(CASES))
def test_update_before_predict(name):
    agent = CASES[name](K, D, 0)
    with pytest.raises(ValueError, match="predict"):
        agent.update(0, torch.zeros(D), 1.0)


def test_wrong_number_of_arms():
    agent = LinUCBAgent(5, D)
    with pytest.raises(ValueError, match="one row per arm"):
        agent.predict(torch.zeros(6, D))


@pytest.mark.parametrize("factory,name", [
    (lambda: LinUCBAgent(5, D, alpha=-1), "alpha"),
    (lambda: LinUCBAgent(5, D, lambda_=0), "lambda_"),
    (lambda: LinUCBAgent(0, D), "n_arms"),
    (lambda: LinUCBAgent(5, D, exploration="greedy"), "exploration"),
    (lambda: LinUCBAgent(5, D, exploration=3), "exploration"),
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
        run_comparison({"random": RandomAgent(D)}, progress=False, n_jobs=1, **kwargs)
    with pytest.raises(ValueError, match="agents"):
        run_comparison({}, 10)


def test_bad_agents_to_a_comparison():
    with pytest.raises(TypeError, match=r"agents\['x'\]"):
        run_comparison({"x": 3}, 10, progress=False)
    with pytest.raises(TypeError, match="factory returned"):
        run_comparison({"x": lambda seed: "not an agent"}, 10, progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="no parameter"):
        LinUCBAgent(5, D).clone(n_products=4)
