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
    ZooplusSimulator,
    run_comparison,
    run_environment_comparison,
    summarize,
)
from bandits_lib.envs import load_digits_contexts
from bandits_lib.experiments import play, play_fork

PET_AGENTS = {
    "LinUCB": LinUCBAgent(50, 9, alpha=1.5),
    "NeuralUCB": lambda s: NeuralUCBAgent(9, (16,), alpha=1.0, confidence="diagonal", jacobian="analytic", seed=s),
    "Random": RandomAgent(9),
}


@pytest.mark.parametrize("shock", [None, 150])
def test_run_comparison_is_the_generic_runner_on_the_pet_shop(shock):
    """run_comparison is run_environment_comparison on PetShopEnvironment: the same table."""
    old = run_comparison(PET_AGENTS, 300, market_shock_at=shock, seeds=[0, 3], n_jobs=1, progress=False)
    new = run_environment_comparison(
        PET_AGENTS, lambda seed: PetShopEnvironment(300, seed=seed, market_shock_at=shock), seeds=[0, 3],
        n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(old, new)
    assert isinstance(PetShopEnvironment(5), Environment)


def test_the_pet_shop_environment_is_the_draft_loop_of_the_simulator():
    """Every step: the stream's user, that persona's features, the click of the step's uniform."""
    simulator = ZooplusSimulator(seed=6)
    stream = simulator.draw_stream(200)
    environment = PetShopEnvironment(200, seed=6, market_shock_at=120)
    shocked = ZooplusSimulator(seed=6)
    shocked.introduce_market_shock()
    for t in range(200):
        info = environment.info(t)
        assert info["user"] == stream.users[t] and info["persona"] == stream.personas[t]
        world = shocked if t >= 120 else simulator
        for arm in (0, 7, 31):
            ctr = world.get_true_ctr(int(stream.users[t]), arm)
            assert environment.expected_reward(t, arm) == ctr == info["expected_rewards"][arm]
            assert environment.reward(t, arm) == float(1.0 - stream.uniforms[t] < ctr) or ctr in (0.0, 1.0)


def test_a_fork_equals_separate_runs_and_a_resumed_run_equals_one_run():
    agent = NeuralUCBAgent(9, (8,), confidence="diagonal", seed=2)
    worlds = {"stationary": PetShopEnvironment(300, seed=1), "shock": PetShopEnvironment(300, seed=1,
                                                                                          market_shock_at=100)}
    forked = play_fork(agent.clone(), worlds, 100)
    for name, world in worlds.items():
        alone = play(agent.clone(), world)
        for key in ("arm", "reward", "expected_reward", "oracle_reward"):
            np.testing.assert_array_equal(forked[name][key], alone[key])
    twin = agent.clone()
    first, second = play(twin, worlds["shock"], 0, 170), play(twin, worlds["shock"], 170)
    np.testing.assert_array_equal(np.concatenate([first["arm"], second["arm"]]), forked["shock"]["arm"])


def test_parallel_runs_equal_serial_runs():
    def make(seed):
        return ClassificationBandit.digits(seed=seed, n_steps=60)

    agents = {"LinUCB": LinUCBAgent(10, 160, alpha=0.2), "Random": RandomAgent(160)}
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
    agents = {"LinUCB": LinUCBAgent(10, 160, alpha=0.2), "Random": RandomAgent(160)}
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
    df = run_environment_comparison({"LinUCB": LinUCBAgent(10, 160, alpha=0.2)}, make, seeds=[0],
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
        run_environment_comparison({"r": RandomAgent(9)}, make, seeds=[1, 1], progress=False)
    with pytest.raises(TypeError, match="factory"):
        run_environment_comparison({"r": "random"}, make, progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="Environment"):
        run_environment_comparison({"r": RandomAgent(9)}, lambda seed: object(), progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="mapping"):
        run_environment_comparison({"r": RandomAgent(9)}, make, fork_at=3, progress=False, n_jobs=1)
    with pytest.raises(TypeError, match="make_environment"):
        run_environment_comparison({"r": RandomAgent(9)}, 3, progress=False)
    with pytest.raises(ValueError, match="pool"):
        load_digits_contexts(pool=3)


def test_pet_shop_oracle_column_is_the_best_arm_before_and_after_the_shock():
    env = PetShopEnvironment(300, seed=2, market_shock_at=100)
    for t in range(300):
        best = max(env.expected_reward(t, a) for a in range(env.n_arms))
        assert env.oracle_reward(t) == best
