"""The environment protocol, its runner, and the classification bandit on real data."""

import numpy as np
import pandas as pd
import pytest
import torch

from bandits_lib import (
    ClassificationBandit,
    Environment,
    LinUCBAgent,
    NeuralUCBAgent,
    PetShopEnvironment,
    RandomAgent,
    load_digits_contexts,
    run_comparison,
    run_environment_comparison,
    summarize,
)

PET_AGENTS = {
    "LinUCB": lambda s: LinUCBAgent(50, 9, alpha=1.5, seed=s),
    "NeuralUCB": lambda s: NeuralUCBAgent(9, (16,), alpha=1.0, confidence="diagonal", jacobian="analytic", seed=s),
    "Random": RandomAgent,
}


@pytest.mark.parametrize("shock", [None, 150])
def test_pet_shop_environment_reproduces_run_comparison(shock):
    """The generic runner on the pet shop gives exactly run_comparison's trajectories."""
    old = run_comparison(PET_AGENTS, 300, market_shock_at=shock, seeds=[0, 3], n_jobs=1, progress=False)
    new = run_environment_comparison(
        PET_AGENTS, lambda seed: PetShopEnvironment(300, seed=seed, market_shock_at=shock), seeds=[0, 3],
        n_jobs=1, progress=False)
    columns = ["step", "seed", "agent", "arm", "reward", "expected_reward", "oracle_reward", "regret"]
    old = old[columns].sort_values(["agent", "seed", "step"]).reset_index(drop=True)
    new = new[columns].sort_values(["agent", "seed", "step"]).reset_index(drop=True)
    old["reward"] = old["reward"].astype(float)
    pd.testing.assert_frame_equal(old, new, check_dtype=False, check_categorical=False)
    assert isinstance(PetShopEnvironment(5), Environment)


def test_parallel_runs_equal_serial_runs():
    def make(seed):
        return ClassificationBandit.digits(seed=seed, n_steps=60)

    agents = {"LinUCB": lambda s: LinUCBAgent(10, 160, alpha=0.2), "Random": lambda s: RandomAgent(s, 160)}
    serial = run_environment_comparison(agents, make, seeds=[0, 1], n_jobs=1, progress=False)
    parallel = run_environment_comparison(agents, make, seeds=[0, 1], n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)
    assert set(serial.attrs["timings"]["agent"]) == {"LinUCB", "Random"}


def test_digits_contexts():
    X, y = load_digits_contexts(pool=2, centre=False)
    assert X.shape == (1797, 16) and y.shape == (1797,)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    assert sorted(np.unique(y).tolist()) == list(range(10))
    X1, _ = load_digits_contexts(pool=1)
    assert X1.shape == (1797, 64)
    centred, _ = load_digits_contexts(pool=2, centre=True)
    np.testing.assert_allclose(np.linalg.norm(centred, axis=1), 1.0)
    assert np.abs(centred.mean(0)).max() < np.abs(X.mean(0)).max()


def test_classification_bandit_block_features_and_rewards():
    X, y = load_digits_contexts(pool=2)
    env = ClassificationBandit(X, y, seed=4)
    assert len(env) == 1797 and env.n_arms == 10 and env.feature_dim == 160
    assert sorted(env.order.tolist()) == list(range(1797))  # one pass, each example once
    for t in (0, 5, 1796):
        features = env.context(t)
        x = torch.as_tensor(X[env.order[t]], dtype=torch.float32)
        for a in range(10):
            block = features[a].view(10, 16)
            torch.testing.assert_close(block[a], x)
            assert block.abs().sum() == block[a].abs().sum()  # zeros outside block a
            assert env.reward(t, a) == float(a == y[env.order[t]]) == env.expected_reward(t, a)
        assert env.oracle_reward(t) == 1.0
    other = ClassificationBandit(X, y, seed=5)
    assert not np.array_equal(other.order, env.order)
    assert np.array_equal(ClassificationBandit(X, y, seed=4).order, env.order)


def test_common_random_numbers_same_order_for_every_agent_of_a_seed():
    agents = {"LinUCB": lambda s: LinUCBAgent(10, 160, alpha=0.2), "Random": lambda s: RandomAgent(s, 160)}
    df = run_environment_comparison(agents, lambda seed: ClassificationBandit.digits(seed=seed, n_steps=200),
                                    seeds=[0, 1], n_jobs=1, progress=False)
    for seed in (0, 1):
        env = ClassificationBandit.digits(seed=seed, n_steps=200)
        for name in agents:
            run = df[(df.agent == name) & (df.seed == seed)]
            np.testing.assert_array_equal(run["reward"], (run["arm"].to_numpy() == env.labels).astype(float))
    np.testing.assert_allclose(df["regret"], 1.0 - df["reward"])


def test_linucb_learns_the_digits():
    """One pass over 1,797 digits: LinUCB's accuracy on the last 500 is far above chance."""
    make = lambda seed: ClassificationBandit.digits(seed=seed)  # noqa: E731
    df = run_environment_comparison({"LinUCB": lambda s: LinUCBAgent(10, 160, alpha=0.2)}, make, seeds=[0],
                                    n_jobs=1, progress=False)
    assert summarize(df, last_n=500).loc["LinUCB", "last_n_ctr_mean"] > 0.7


@pytest.mark.parametrize("kwargs,message", [
    ({"X": np.zeros((3, 2)), "y": np.array([0, 1])}, "y must have shape"),
    ({"X": np.zeros(3), "y": np.array([0, 1, 2])}, "2-D"),
    ({"X": np.full((2, 2), np.nan), "y": np.array([0, 1])}, "finite"),
    ({"X": np.zeros((2, 2)), "y": np.array([0.5, 1.0])}, "integer"),
    ({"X": np.zeros((2, 2)), "y": np.array([0, -1])}, "non-negative"),
    ({"X": np.zeros((2, 2)), "y": np.array([0, 1]), "n_steps": 3}, "n_steps"),
    ({"X": np.zeros((2, 2)), "y": np.array([0, 3]), "n_classes": 2}, "n_classes"),
    ({"X": np.zeros((2, 2)), "y": np.array([0, 1]), "seed": -1}, "seed"),
])
def test_classification_bandit_bad_input(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ClassificationBandit(**kwargs)


def test_bad_runner_arguments():
    make = lambda seed: PetShopEnvironment(10, seed=seed)  # noqa: E731
    with pytest.raises(ValueError, match="agents"):
        run_environment_comparison({}, make)
    with pytest.raises(ValueError, match="seeds"):
        run_environment_comparison({"r": RandomAgent}, make, seeds=[1, 1], progress=False)
    with pytest.raises(TypeError, match="factories"):
        run_environment_comparison({"r": RandomAgent(0)}, make, progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="Environment"):
        run_environment_comparison({"r": RandomAgent}, lambda seed: object(), progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="make_environment"):
        run_environment_comparison({"r": RandomAgent}, 3, progress=False)
    with pytest.raises(ValueError, match="pool"):
        load_digits_contexts(pool=3)


def test_pet_shop_oracle_column_is_the_best_arm_before_and_after_the_shock():
    env = PetShopEnvironment(300, seed=2, market_shock_at=100)
    for t in range(300):
        best = max(env.expected_reward(t, a) for a in range(env.n_arms))
        assert env.oracle_reward(t) == best
