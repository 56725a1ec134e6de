"""Diagnostics of a run: the recorder changes no decision, the causes are what they say."""

import numpy as np
import pandas as pd
import pytest
import torch

from bandits_lib import (
    FEATURE_DIM,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    PetShopEnvironment,
    RandomAgent,
    play,
    run_shock_experiment,
)
from bandits_lib.diagnostics import (
    CAUSES,
    DecisionRecorder,
    cause_shares,
    classify,
    record_decisions,
    run_decisions,
    with_recorder,
)
from bandits_lib.exploration import UCB

T, SHOCK = 300, 150
AGENTS = {
    "LinUCB": LinUCBAgent(50, FEATURE_DIM, alpha=0.5),
    "NeuralUCB (exact)": lambda s: NeuralUCBAgent(FEATURE_DIM, (8,), alpha=0.3, confidence="full", seed=s),
    "NeuralUCB (exact, history)": lambda s: NeuralUCBAgent(
        FEATURE_DIM, (8,), alpha=0.3, confidence="full", training="history",
        training_options={"steps": 5, "train_every": 20, "batch_size": 16, "lr": 0.05}, seed=s),
    "Last-layer": lambda s: LastLayerNeuralUCBAgent(FEATURE_DIM, (16,), embedding_dim=8, alpha=0.5, seed=s),
    "Neural-LinUCB": lambda s: NeuralLinUCBAgent(50, FEATURE_DIM, (16,), embedding_dim=4, alpha=0.5, seed=s),
    "Random": RandomAgent(FEATURE_DIM),
}


def worlds(seed):
    return {"stationary": PetShopEnvironment(T, seed=seed), "shock": PetShopEnvironment(T, seed=seed,
                                                                                          market_shock_at=SHOCK)}


def test_the_recorded_runs_are_the_runners_runs():
    """Same agents, seeds and worlds: the run table of run_shock_experiment, column for column."""
    runs = run_shock_experiment(AGENTS, T, market_shock_at=SHOCK, seeds=[0, 3], n_jobs=1, progress=False)
    recorded = run_decisions(AGENTS, worlds, seeds=[0, 3], fork_at=SHOCK, n_jobs=1)
    for world in ("stationary", "shock"):
        expected = runs[world].sort_values(["agent", "seed", "step"]).reset_index(drop=True)
        got = recorded[world].sort_values(["agent", "seed", "step"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(expected.columns)], expected)
        assert set(got.columns) - set(expected.columns) == {"cause", "chosen_mean", "chosen_bonus", "best_mean",
                                                            "best_bonus"}
        assert len(got.attrs["timings"]) == len(AGENTS) * 2


def test_parallel_equals_sequential():
    one = run_decisions({"LinUCB": AGENTS["LinUCB"]}, lambda s: PetShopEnvironment(120, seed=s), seeds=[1, 2],
                        n_jobs=1)
    two = run_decisions({"LinUCB": AGENTS["LinUCB"]}, lambda s: PetShopEnvironment(120, seed=s), seeds=[1, 2],
                        n_jobs=2)
    pd.testing.assert_frame_equal(one, two)


def manual_causes(agent, environment, n_steps):
    """The slow way: ask the agent for its scores before every decision, classify by hand."""
    rows = []
    for t in range(n_steps):
        X, info = environment.context(t), environment.info(t)
        mean, width = agent.score(X, info)
        mean, bonus = mean.double().numpy(), agent.alpha * width.double().numpy()
        arm = agent.predict(X, info)
        expected = np.asarray(info["expected_rewards"])
        best = np.flatnonzero(expected >= expected.max())
        top = best[np.argmax(mean[best])]
        if expected[arm] >= expected.max():
            cause = "best arm"
        elif mean[arm] >= mean[top]:
            cause = "mean"
        else:
            cause = "bonus"
        rows.append({"arm": arm, "cause": cause, "chosen_mean": mean[arm], "chosen_bonus": bonus[arm],
                     "best_mean": mean[top] if cause != "best arm" else mean[arm],
                     "best_bonus": bonus[top] if cause != "best arm" else bonus[arm]})
        agent.update(arm, X[arm], environment.reward(t, arm))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", ["LinUCB", "NeuralUCB (exact)", "Last-layer", "Neural-LinUCB"])
def test_causes_match_a_slow_classification(name):
    spec = AGENTS[name]
    template = spec.clone(seed=4) if isinstance(spec, LinUCBAgent) else spec(4)
    environment = PetShopEnvironment(200, seed=4)
    got = record_decisions(template, environment)
    slow = manual_causes(template.clone(), environment, 200)
    np.testing.assert_array_equal(got["arm"].to_numpy(), slow["arm"].to_numpy())
    assert got["cause"].astype(str).tolist() == slow["cause"].tolist()
    for column in ("chosen_mean", "chosen_bonus", "best_mean", "best_bonus"):
        np.testing.assert_allclose(got[column].to_numpy(), slow[column].to_numpy(), rtol=1e-6, atol=1e-7)
    # every cause occurs in a run this short, and "best arm" exactly when the regret is zero
    assert (got["cause"] == "best arm").to_numpy().tolist() == (got["regret"] <= 0).to_numpy().tolist()


def test_recorder_decides_as_its_rule_and_keeps_every_arm():
    rule = DecisionRecorder(UCB())
    mean, width = torch.tensor([0.5, 0.4, 0.1]), torch.tensor([0.0, 0.2, 0.1])
    assert rule.choose(mean, width, 1.0, None) == UCB().choose(mean, width, 1.0, None) == 1
    assert rule.choose(mean, width, 0.0, None) == 0
    assert rule.choices == [1, 0] and rule.alphas == [1.0, 0.0]
    np.testing.assert_array_equal(rule.means[0].numpy(), mean.numpy())
    assert rule.rows_suffice is False
    # a row-scoring agent reports one score per arm (50), not per distinct row (5)
    agent = with_recorder(NeuralUCBAgent(FEATURE_DIM, (8,), seed=0))
    environment = PetShopEnvironment(5, seed=0)
    play(agent, environment)
    assert len(agent.exploration) == 5 and tuple(agent.exploration.means[0].shape) == (50,)


def test_the_template_is_not_changed():
    template = LinUCBAgent(50, FEATURE_DIM, alpha=0.5)
    record_decisions(template, PetShopEnvironment(50, seed=0))
    assert template.exploration == "ucb" and template.t == 0


def test_random_agent_has_no_causes():
    table = record_decisions(RandomAgent(FEATURE_DIM, seed=0), PetShopEnvironment(100, seed=0))
    assert table["cause"].isna().all() and table["chosen_mean"].isna().all()
    shares = cause_shares(table.assign(agent="Random"))
    assert np.isnan(shares.loc["Random", "by mean"]) and shares.loc["Random", "wrong"] > 0.5


def test_cause_shares_by_hand():
    table = pd.DataFrame({
        "agent": ["a"] * 5 + ["b"] * 2, "phase": ["early"] * 3 + ["late"] * 2 + ["early"] * 2,
        "regret": [0.0, 0.1, 0.3, 0.2, 0.0, 0.0, 0.0],
        "cause": pd.Categorical(["best arm", "mean", "bonus", "mean", "best arm", "best arm", "best arm"],
                                categories=CAUSES)})
    shares = cause_shares(table, by=["agent", "phase"])
    assert shares.loc[("a", "early"), "wrong"] == pytest.approx(2 / 3)
    assert shares.loc[("a", "early"), "by mean"] == pytest.approx(0.5)
    assert shares.loc[("a", "early"), "regret by bonus"] == pytest.approx(0.75)
    assert shares.loc[("a", "late"), "by mean"] == 1.0
    assert shares.loc[("b", "early"), "wrong"] == 0.0 and np.isnan(shares.loc[("b", "early"), "by mean"])


def test_bad_input():
    with pytest.raises(ValueError, match="exploration"):
        with_recorder(RandomAgent(FEATURE_DIM))
    with pytest.raises(TypeError, match="BanditAgent"):
        record_decisions("LinUCB", PetShopEnvironment(10, seed=0))
    with pytest.raises(TypeError, match="Environment"):
        record_decisions(LinUCBAgent(50, FEATURE_DIM), [1, 2, 3])
    with pytest.raises(TypeError, match="mapping"):
        record_decisions(LinUCBAgent(50, FEATURE_DIM), PetShopEnvironment(10, seed=0), fork_at=5)
    with pytest.raises(ValueError, match="seeds"):
        run_decisions({"LinUCB": AGENTS["LinUCB"]}, lambda s: PetShopEnvironment(10, seed=s), seeds=[1, 1])
    with pytest.raises(ValueError, match="agents"):
        run_decisions({}, lambda s: PetShopEnvironment(10, seed=s))
    # a recorder whose choices are not the arms played is refused
    agent = with_recorder(LinUCBAgent(50, FEATURE_DIM))
    environment = PetShopEnvironment(10, seed=0)
    played = play(agent, environment)
    played["arm"] = (played["arm"] + 1) % 50
    with pytest.raises(ValueError, match="differ"):
        classify(agent.exploration, environment, 0, played)
