"""Chapter 4 agents: bad input gets a clear error naming the argument, and changes nothing."""

import copy

import pytest
import torch

from bandits_lib import (
    DiagonalNeuralUCBAgent,
    DiscountedLinUCBAgent,
    ForgettingNeuralUCBAgent,
    LinTSAgent,
    NeuralTSAgent,
    SlidingWindowLinUCBAgent,
)
from test_bad_input import BAD_FEATURES, D, assert_same, snapshot, trained


def make_agents():
    return {
        "d_linucb": DiscountedLinUCBAgent(5, D, discount=0.9),
        "sw_linucb": SlidingWindowLinUCBAgent(5, D, window=2),
        "forgetting_full": ForgettingNeuralUCBAgent(D, (8,), confidence="full", discount=0.9, reset_every=2, seed=0),
        "forgetting_diag": ForgettingNeuralUCBAgent(D, (8,), confidence="diagonal", discount=0.9, seed=0),
        "lin_ts": LinTSAgent(5, D, v=0.5, seed=0),
        "neural_ts_full": NeuralTSAgent(D, (8,), nu=0.5, confidence="full", seed=0),
        "neural_ts_diag": NeuralTSAgent(D, (8,), nu=0.5, confidence="diagonal", seed=0),
        "diagonal_rerank": DiagonalNeuralUCBAgent(D, (8,), seed=0),
    }


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
    for args, error, message in [
        ((arm, X[arm], float("nan")), ValueError, "reward"),
        ((arm, X[arm], "1"), TypeError, "reward"),
        ((5, X[arm], 1.0), ValueError, "chosen_arm"),
        ((arm, X[arm] + 1.0, 1.0), ValueError, "feature_vector"),
    ]:
        with pytest.raises(error, match=message):
            agent.update(*args)
        assert_same(before, snapshot(agent))
    agent.update(arm, X[arm], 1)
    with pytest.raises(ValueError, match="predict"):
        agent.update(arm, X[arm], 1)


@pytest.mark.parametrize("name", ["lin_ts", "neural_ts_full", "neural_ts_diag"])
def test_score_distribution_changes_nothing(name):
    agent, X = trained(make_agents()[name])
    before = snapshot(agent)
    agent.score_distribution(X)
    assert_same(before, snapshot(agent))
    twin = copy.deepcopy(agent)
    assert torch.equal(agent.sample_scores(X), twin.sample_scores(X))  # same generator state, same draw


@pytest.mark.parametrize("factory,name", [
    (lambda: DiscountedLinUCBAgent(5, D, discount=0.0), "discount"),
    (lambda: DiscountedLinUCBAgent(5, D, discount=1.5), "discount"),
    (lambda: DiscountedLinUCBAgent(5, D, discount=float("nan")), "discount"),
    (lambda: DiscountedLinUCBAgent(5, D, alpha=-1.0), "alpha"),
    (lambda: SlidingWindowLinUCBAgent(5, D, window=0), "window"),
    (lambda: SlidingWindowLinUCBAgent(5, D, window=2.5), "window"),
    (lambda: ForgettingNeuralUCBAgent(D, discount=-0.5), "discount"),
    (lambda: ForgettingNeuralUCBAgent(D, reset_every=0), "reset_every"),
    (lambda: ForgettingNeuralUCBAgent(D, confidence="low-rank"), "confidence"),
    (lambda: LinTSAgent(5, D, v=-0.1), "v"),
    (lambda: LinTSAgent(0, D), "n_products"),
    (lambda: LinTSAgent(5, D, seed=-1), "seed"),
    (lambda: NeuralTSAgent(D, nu=-1.0), "nu"),
    (lambda: NeuralTSAgent(D, width=0.0), "width"),
    (lambda: NeuralTSAgent(D, lambda_=0.0), "lambda_"),
    (lambda: NeuralTSAgent(D, seed=-2), "seed"),
    (lambda: DiagonalNeuralUCBAgent(D, hidden_dims=()), "hidden_dims"),
])
def test_bad_hyperparameters(factory, name):
    with pytest.raises((ValueError, TypeError), match=name):
        factory()
