"""Chapter 4 agents: bad hyperparameters get a clear error naming the argument.

(Bad input to predict and update is tested for every agent, these included, in
tests/test_bad_input.py, over the one registry of tests/agent_cases.py.)
"""

import pytest

from bandits_lib import (
    DiagonalNeuralUCBAgent,
    DiscountedLinUCBAgent,
    ForgettingNeuralUCBAgent,
    LinTSAgent,
    NeuralTSAgent,
    SlidingWindowLinUCBAgent,
)

D = 9


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
    (lambda: LinTSAgent(0, D), "n_arms"),
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
