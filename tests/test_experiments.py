import numpy as np
import pandas as pd
import pytest

from bandits_lib import (
    LinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    RandomAgent,
    ZooplusSimulator,
    cumulative_regret,
    run_comparison,
    steps_to_recover,
    summarize,
)
from bandits_lib.envs.features import create_feature_vectors
from draft_simulator import DraftZooplusSimulator

AGENTS = {
    "LinUCB": LinUCBAgent(50, 9, alpha=1.5),
    "NeuralUCB": lambda s: NeuralUCBAgent(9, (16,), alpha=1.0, confidence="diagonal", jacobian="analytic", seed=s),
    "Random": RandomAgent(9),
    "Oracle": OracleAgent(9),
}


def test_tidy_table_and_regret_definition():
    df = run_comparison(AGENTS, 300, seeds=[0, 1], n_jobs=1, progress=False)
    assert len(df) == 300 * 2 * 4
    assert list(df.columns) == ["step", "seed", "agent", "user", "persona", "arm", "category", "reward",
                                "expected_reward", "oracle_reward", "regret"]
    np.testing.assert_allclose(df["regret"], df["oracle_reward"] - df["expected_reward"])
    assert (df["regret"] >= 0).all()
    sim = ZooplusSimulator(seed=1)
    run = df[(df.agent == "LinUCB") & (df.seed == 1)]
    for _, row in run.head(50).iterrows():
        assert row.expected_reward == sim.get_true_ctr(int(row.user), int(row.arm))
        assert row.persona == sim.user_to_persona_map[int(row.user)]
        assert row.category == sim.products.loc[int(row.arm), "category"]  # each seed's own catalogue


def test_common_random_numbers_same_users_same_clicks():
    df = run_comparison(AGENTS, 500, seeds=[3], n_jobs=1, progress=False)
    users = df.pivot(index="step", columns="agent", values="user")
    assert (users.nunique(axis=1) == 1).all()
    # whenever two agents play arms of the same true CTR at a step, they get the same click
    ctr = df.pivot(index="step", columns="agent", values="expected_reward")
    rewards = df.pivot(index="step", columns="agent", values="reward")
    names = list(AGENTS)
    matches = 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same = ctr[a] == ctr[b]
            matches += same.sum()
            assert (rewards.loc[same, a] == rewards.loc[same, b]).all()
    assert matches > 300


def test_identical_agents_get_identical_trajectories_and_runs_are_reproducible():
    twins = {"a": AGENTS["NeuralUCB"], "b": AGENTS["NeuralUCB"]}
    df = run_comparison(twins, 400, seeds=[5], n_jobs=1, progress=False)
    a, b = df[df.agent == "a"], df[df.agent == "b"]
    assert np.array_equal(a["arm"], b["arm"]) and np.array_equal(a["reward"], b["reward"])
    again = run_comparison(twins, 400, seeds=[5], n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(df, again)


def test_parallel_runs_equal_sequential_runs():
    seq = run_comparison(AGENTS, 300, seeds=[0, 1], n_jobs=1, progress=False)
    par = run_comparison(AGENTS, 300, seeds=[0, 1], n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(seq, par)


def test_runner_replays_the_draft_stream():
    """simulator_seed=42: the draft's users at every step, and its clicks wherever the CTR is <= 0.5."""
    df = run_comparison({"Random": RandomAgent(9)}, 600, seeds=[0], simulator_seed=42, n_jobs=1, progress=False)
    draft = DraftZooplusSimulator(seed=42)
    compared = 0
    for t in range(600):
        user = draft.get_random_user()
        assert df.user[t] == user
        arm = int(df.arm[t])
        X = create_feature_vectors(str(draft.user_to_persona_map[user]), draft.products)
        assert X.shape == (50, 9)
        reward = draft.get_reward(user, arm)
        if draft.get_true_ctr(user, arm) <= 0.5:
            assert df.reward[t] == reward
            compared += 1
    assert compared > 450


def test_shock_and_recovery_summary():
    df = run_comparison({"LinUCB": AGENTS["LinUCB"], "Oracle": AGENTS["Oracle"]}, 2000, market_shock_at=1000,
                        seeds=[0, 1], n_jobs=1, progress=False)
    after = df[(df.step >= 1000) & (df.persona == "new_puppy_parent")]
    assert (after["oracle_reward"] == 0.60).all()
    rec = steps_to_recover(df, 1000, window=200)
    assert set(rec.columns) == {"agent", "seed", "pre_shock_regret", "steps_to_recover"}
    assert (rec[rec.agent == "Oracle"]["steps_to_recover"] == 200).all()
    stats = summarize(df, last_n=100)
    assert stats.loc["Oracle", "cumulative_regret_mean"] == 0
    curve = cumulative_regret(df)
    last = curve[curve.step == 1999].groupby("agent", observed=True)["cumulative_regret"].mean()
    assert np.isclose(last["LinUCB"], stats.loc["LinUCB", "cumulative_regret_mean"])


def test_an_agent_is_a_template_cloned_per_seed_and_never_trained_in_place():
    template = NeuralUCBAgent(9, (8,), confidence="diagonal")
    df = run_comparison({"a": template}, 50, seeds=[0, 1], n_jobs=1, progress=False)
    assert template.t == 0 and template.seed is None
    factory = run_comparison({"a": lambda s: NeuralUCBAgent(9, (8,), confidence="diagonal", seed=s)}, 50,
                             seeds=[0, 1], n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(df, factory)


def test_forked_shock_experiment_equals_two_separate_runs():
    from bandits_lib import run_shock_experiment
    agents = {k: AGENTS[k] for k in ("LinUCB", "NeuralUCB", "Oracle")}
    both = run_shock_experiment(agents, 600, market_shock_at=250, seeds=[0, 4], n_jobs=1, progress=False)
    stationary = run_comparison(agents, 600, seeds=[0, 4], n_jobs=1, progress=False)
    shocked = run_comparison(agents, 600, market_shock_at=250, seeds=[0, 4], n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(both["stationary"], stationary)
    pd.testing.assert_frame_equal(both["shock"], shocked)
    assert both["shock"].attrs["market_shock_at"] == 250 and both["stationary"].attrs["market_shock_at"] is None
