"""Off-policy evaluation (bandits_lib.offpolicy), checked where the truth is known.

* every estimator against a slow, obviously-correct loop;
* on the simulated pet shop, over many independent logs: IPS and DR unbiased (the mean
  of the estimates within a t interval of the exact value, and a wrong propensity *is*
  caught by the same check), SNIPS consistent, replay of a fixed policy unbiased, the
  95% intervals covering the truth about 95% of the time;
* replay of a learning agent matching the same agent run online (Li et al., 2011);
* the interval maths (t quantiles against scipy, the Wilson interval against its
  defining equation), the reward model's cross-fitting, and input validation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from bandits_lib import FEATURE_DIM, LinUCBAgent, ZooplusSimulator
from bandits_lib.offpolicy import (
    OffPolicyEstimate,
    cross_fit_ridge,
    deterministic_policy,
    doubly_robust,
    effective_sample_size,
    estimator_study,
    evaluate_policy,
    fit_ridge,
    importance_weights,
    ips,
    on_policy,
    pet_shop_log,
    predict_ridge,
    replay,
    replay_comparison,
    replay_difference,
    replay_fixed,
    replay_versus_online,
    snips,
    summarize_study,
    t_interval,
    t_quantile,
    true_policy_value,
    uniform_policy,
    wilson_interval,
)


# ---------------------------------------------------------------------------- fixtures
def random_log(n=400, n_actions=5, seed=0):
    """A small log with a non-uniform, context-dependent logging policy and a random target."""
    rng = np.random.default_rng(seed)
    logging = rng.dirichlet(np.ones(n_actions), size=n)
    actions = np.array([rng.choice(n_actions, p=row) for row in logging])
    propensities = logging[np.arange(n), actions]
    rewards = rng.binomial(1, 0.3, size=n).astype(float)
    target = rng.dirichlet(np.ones(n_actions), size=n)
    predictions = rng.uniform(0, 1, size=(n, n_actions))
    return rewards, actions, propensities, target, predictions


def shop_policies(sim):
    """Target: 90% on the persona's best category, 10% uniform. Skewed logging: 70% on its worst category."""
    ctr, category = sim.ctr_matrix(), sim.category_index
    best = np.array([category == category[row.argmax()] for row in ctr], dtype=float)
    worst = np.array([category == category[row.argmin()] for row in ctr], dtype=float)
    k = sim.n_products
    target = 0.9 * best / best.sum(1, keepdims=True) + 0.1 / k
    logging = 0.7 * worst / worst.sum(1, keepdims=True) + 0.3 / k
    return target, logging


class FixedPolicyAgent:
    """Plays a fixed, deterministic choice per event (looked up by the row it is shown); never learns."""

    def __init__(self, choices_by_row):
        self.choices = choices_by_row
        self.updates = 0

    def predict(self, X):
        return int(self.choices[int(X[0, -1])])

    def update(self, arm, x, reward):
        self.updates += 1


@pytest.fixture(scope="module")
def shop():
    sim = ZooplusSimulator(n_products=20, seed=3)
    target, logging = shop_policies(sim)
    return sim, target, logging


@pytest.fixture(scope="module")
def uniform_study(shop):
    sim, target, _ = shop
    return estimator_study(sim, target, n_interactions=2_000, n_replications=200, seed=11)


@pytest.fixture(scope="module")
def skewed_study(shop):
    sim, target, logging = shop
    return estimator_study(sim, target, n_interactions=2_000, n_replications=200, logging_probabilities=logging,
                           seed=12)


# ---------------------------------------------------------------------------- interval maths
@pytest.mark.parametrize("df", [1, 2, 3, 7, 29, 124, 9_999])
@pytest.mark.parametrize("probability", [0.6, 0.9, 0.975, 0.995, 0.025])
def test_t_quantile_matches_scipy(df, probability):
    assert t_quantile(probability, df) == pytest.approx(stats.t.ppf(probability, df), rel=1e-9, abs=1e-9)


def test_t_interval_is_the_textbook_formula():
    z = np.random.default_rng(0).normal(size=37)
    mean, se, lower, upper = t_interval(z, 0.9)
    half = stats.t.ppf(0.95, 36) * z.std(ddof=1) / math.sqrt(37)
    assert (mean, se) == pytest.approx((z.mean(), z.std(ddof=1) / math.sqrt(37)))
    assert (lower, upper) == pytest.approx((z.mean() - half, z.mean() + half))
    assert all(math.isnan(v) for v in t_interval(np.array([1.0]))[1:])


@pytest.mark.parametrize("successes,n", [(0, 125), (1, 125), (7, 40), (40, 40), (3, 10)])
def test_wilson_interval_solves_its_defining_equation(successes, n):
    """Each end p satisfies |p_hat - p| = z sqrt(p (1 - p) / n), the score test's boundary."""
    lower, upper = wilson_interval(successes, n, 0.95)
    z, p_hat = stats.norm.ppf(0.975), successes / n
    for p in (lower, upper):
        if 0 < p < 1:
            assert abs(p_hat - p) == pytest.approx(z * math.sqrt(p * (1 - p) / n), rel=1e-9)
    assert lower <= p_hat <= upper
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_effective_sample_size():
    assert effective_sample_size(np.full(50, 3.0)) == pytest.approx(50)
    # A deterministic target under uniform logging: weight K on the matched events, 0 elsewhere.
    weights = np.where(np.arange(100) % 4 == 0, 4.0, 0.0)
    assert effective_sample_size(weights) == pytest.approx(25)
    assert effective_sample_size(np.zeros(5)) == 0.0


# ---------------------------------------------------------------------------- against slow loops
def test_estimators_match_slow_loops():
    rewards, actions, propensities, target, predictions = random_log()
    n = len(rewards)
    ips_sum = snips_num = snips_den = dr_sum = 0.0
    for i in range(n):
        w = target[i][actions[i]] / propensities[i]
        ips_sum += w * rewards[i]
        snips_num += w * rewards[i]
        snips_den += w
        model = sum(target[i][a] * predictions[i][a] for a in range(target.shape[1]))
        dr_sum += model + w * (rewards[i] - predictions[i][actions[i]])
    assert ips(rewards, actions, propensities, target).value == pytest.approx(ips_sum / n, rel=1e-12)
    assert snips(rewards, actions, propensities, target).value == pytest.approx(snips_num / snips_den, rel=1e-12)
    assert doubly_robust(rewards, actions, propensities, target, predictions).value == pytest.approx(dr_sum / n,
                                                                                                    rel=1e-12)
    weights = importance_weights(actions, propensities, target)
    assert weights == pytest.approx([target[i][actions[i]] / propensities[i] for i in range(n)])


def test_snips_standard_error_is_the_delta_method():
    """Against the ratio estimator's delta-method variance, written out from sums."""
    rewards, actions, propensities, target, _ = random_log(seed=4)
    w = np.array([target[i][actions[i]] / propensities[i] for i in range(len(rewards))])
    v = (w * rewards).sum() / w.sum()
    n = len(w)
    variance = sum((w[i] * (rewards[i] - v)) ** 2 for i in range(n)) / (n - 1) / w.mean() ** 2
    assert snips(rewards, actions, propensities, target).std_error == pytest.approx(math.sqrt(variance / n),
                                                                                   rel=1e-9)


def test_uniform_target_on_uniform_log_is_the_sample_mean():
    rng = np.random.default_rng(1)
    rewards = rng.binomial(1, 0.2, 300).astype(float)
    actions = rng.integers(0, 6, 300)
    propensities = np.full(300, 1 / 6)
    pi = uniform_policy(300, 6)
    for estimate in (ips(rewards, actions, propensities, pi), snips(rewards, actions, propensities, pi)):
        assert estimate.value == pytest.approx(rewards.mean(), rel=1e-12)
        assert estimate.ess == pytest.approx(300)
    mean = on_policy(rewards)
    assert (mean.value, mean.n) == (pytest.approx(rewards.mean()), 300)


def test_doubly_robust_with_the_true_model_has_no_correction_on_average():
    """With mu_hat = E[r | x, a] the correction terms have mean zero and DR beats IPS on variance."""
    rng = np.random.default_rng(5)
    n, k = 20_000, 4
    mu = rng.uniform(0.1, 0.9, size=(n, k))
    actions = rng.integers(0, k, n)
    rewards = rng.binomial(1, mu[np.arange(n), actions]).astype(float)
    propensities = np.full(n, 1 / k)
    target = rng.dirichlet(np.ones(k), size=n)
    dr = doubly_robust(rewards, actions, propensities, target, mu)
    plain = ips(rewards, actions, propensities, target)
    truth = float(np.mean(np.sum(target * mu, axis=1)))
    assert abs(dr.value - truth) < 4 * dr.std_error
    assert dr.std_error < plain.std_error


def test_snips_wilson_interval_is_exact_for_a_deterministic_target_under_uniform_logging():
    rng = np.random.default_rng(2)
    n, k = 2_000, 8
    actions = rng.integers(0, k, n)
    rewards = rng.binomial(1, 0.05, n).astype(float)
    chosen = rng.integers(0, k, n)
    estimate = snips(rewards, actions, np.full(n, 1 / k), deterministic_policy(chosen, k), interval="wilson")
    matched = chosen == actions
    assert estimate.ess == pytest.approx(matched.sum())
    assert estimate.value == pytest.approx(rewards[matched].mean())
    assert (estimate.lower, estimate.upper) == pytest.approx(wilson_interval(rewards[matched].sum(), matched.sum()))


def test_evaluate_policy_table():
    rewards, actions, propensities, target, predictions = random_log()
    table = evaluate_policy(rewards, actions, propensities, target, predictions)
    assert list(table.index) == ["IPS", "SNIPS", "DR"]
    assert table.loc["DR", "value"] == pytest.approx(doubly_robust(rewards, actions, propensities, target,
                                                                   predictions).value)
    assert list(evaluate_policy(rewards, actions, propensities, target).index) == ["IPS", "SNIPS"]


# ---------------------------------------------------------------------------- the reward model
def test_cross_fit_ridge_matches_closed_form_per_fold_and_never_sees_its_own_reward():
    rng = np.random.default_rng(3)
    n, k, d = 300, 4, 5
    X = rng.normal(size=(n, k, d))
    actions = rng.integers(0, k, n)
    rewards = rng.normal(size=n)
    q = cross_fit_ridge(X, actions, rewards, n_folds=3, lambda_=0.7, seed=9, chunk=64)
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(9).permutation(n)] = np.arange(n) % 3
    for f in range(3):
        train = np.flatnonzero(fold != f)
        Z = X[train, actions[train]]
        theta = np.linalg.inv(0.7 * np.eye(d) + Z.T @ Z) @ Z.T @ rewards[train]
        for i in np.flatnonzero(fold == f)[:10]:
            assert q[i] == pytest.approx(X[i] @ theta, rel=1e-9, abs=1e-12)
    # Changing an event's reward leaves its own predictions unchanged (and changes others').
    changed = rewards.copy()
    changed[17] += 100.0
    q2 = cross_fit_ridge(lambda index: X[index], actions, changed, n_folds=3, lambda_=0.7, seed=9)
    assert np.allclose(q2[17], q[17])
    assert not np.allclose(q2, q)


def test_fit_and_predict_ridge_are_the_closed_form():
    rng = np.random.default_rng(12)
    n, k, d = 250, 3, 4
    X = rng.normal(size=(n, k, d))
    actions = rng.integers(0, k, n)
    rewards = rng.normal(size=n)
    theta = fit_ridge(lambda index: X[index], actions, rewards, lambda_=2.0, chunk=32)
    Z = X[np.arange(n), actions]
    assert theta == pytest.approx(np.linalg.inv(2.0 * np.eye(d) + Z.T @ Z) @ Z.T @ rewards, rel=1e-9)
    predictions = predict_ridge(X, theta, n, chunk=50)
    assert predictions.shape == (n, k) and np.allclose(predictions, X @ theta)
    with pytest.raises(ValueError, match="theta must have one entry per feature"):
        predict_ridge(X, theta[:2], n)


# ---------------------------------------------------------------------------- the pet shop: truth
def test_true_policy_value_is_the_mean_true_ctr_of_an_on_policy_log(shop):
    sim, target, _ = shop
    log = pet_shop_log(sim, 200_000, seed=1, product_probabilities=target)
    truth = true_policy_value(sim, target)
    assert abs(log.true_ctr.mean() - truth) < 4 * log.true_ctr.std() / math.sqrt(len(log))
    # The logged propensities are the logging policy's probabilities.
    personas, actions = log.personas, log.actions
    assert np.allclose(log.propensities, target[personas, actions])
    assert true_policy_value(sim) == pytest.approx(sim.ctr_matrix().mean(axis=1) @ (
        np.bincount(sim.persona_index(np.arange(sim.n_users)), minlength=4) / sim.n_users))


# ---------------------------------------------------------------------------- the pet shop: bias, coverage
@pytest.mark.parametrize("study_name", ["uniform_study", "skewed_study"])
@pytest.mark.parametrize("estimator", ["IPS", "DR"])
def test_ips_and_dr_are_unbiased_over_replications(study_name, estimator, request):
    study = request.getfixturevalue(study_name)
    table = summarize_study(study)
    row = table.loc[estimator]
    # The mean of 200 independent estimates is within a 99.9% t interval of the exact value.
    assert abs(row["bias"]) <= t_quantile(0.9995, row["replications"] - 1) * row["bias_se"]


def test_the_unbiasedness_check_catches_a_wrong_propensity(shop):
    """Negative control: IPS that assumes uniform logging when the log was skewed is biased, and the check sees it."""
    sim, target, logging = shop
    truth = true_policy_value(sim, target)
    values = []
    for j in range(100):
        log = pet_shop_log(sim, 2_000, seed=500 + j, product_probabilities=logging)
        wrong = np.full(len(log), 1 / sim.n_products)
        values.append(ips(log.rewards, log.actions, wrong, target[log.personas]).value)
    values = np.array(values)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - truth) > t_quantile(0.9995, len(values) - 1) * se


def test_snips_is_consistent(shop):
    """Its error shrinks like 1/sqrt(n) as the log grows, with no bias left that 40 logs could see."""
    sim, target, logging = shop
    truth = true_policy_value(sim, target)
    estimates = {}
    for n in (300, 30_000):
        estimates[n] = np.array([snips(log.rewards, log.actions, log.propensities, target[log.personas]).value
                                 for log in (pet_shop_log(sim, n, seed=900 + j, product_probabilities=logging)
                                             for j in range(40))])
    rmse = {n: float(np.sqrt(np.mean((e - truth) ** 2))) for n, e in estimates.items()}
    assert rmse[30_000] < rmse[300] / 5  # 1/sqrt(100) = 1/10 expected
    large = estimates[30_000]
    assert abs(large.mean() - truth) <= t_quantile(0.9995, 39) * large.std(ddof=1) / math.sqrt(40)


@pytest.mark.parametrize("study_name", ["uniform_study", "skewed_study"])
def test_intervals_cover_the_truth_near_the_nominal_rate(study_name, request):
    table = summarize_study(request.getfixturevalue(study_name))
    # 200 replications: the coverage of a 95% interval has a Monte Carlo sd of 1.5 points.
    for estimator, row in table.iterrows():
        assert 0.89 <= row["coverage"] <= 0.995, (estimator, row["coverage"])


def test_doubly_robust_gains_precision_from_a_better_reward_model(shop, uniform_study):
    """With one-hot (persona, category) features the ridge model can be exact, and DR's spread shrinks.

    It cannot shrink below the click noise weighted by w (no model predicts a Bernoulli draw).
    """
    sim, target, _ = shop
    exact = np.zeros((4, sim.n_products, 4 * 5))
    for persona in range(4):
        exact[persona, np.arange(sim.n_products), persona * 5 + sim.category_index] = 1.0
    better = summarize_study(estimator_study(sim, target, n_interactions=2_000, n_replications=200, seed=11,
                                             reward_features=exact))
    additive = summarize_study(uniform_study)
    # The same 200 logs (same seed): only the reward model differs.
    assert better.loc["IPS", "mean"] == additive.loc["IPS", "mean"]
    assert better.loc["DR", "sd"] < 0.95 * additive.loc["DR", "sd"]
    assert better.loc["DR", "sd"] < 0.8 * better.loc["IPS", "sd"]
    assert abs(better.loc["DR", "bias"]) <= t_quantile(0.9995, 199) * better.loc["DR", "bias_se"]


def test_replay_of_a_fixed_policy_is_unbiased(uniform_study):
    row = summarize_study(uniform_study).loc["replay"]
    assert abs(row["bias"]) <= t_quantile(0.9995, row["replications"] - 1) * row["bias_se"]
    assert 0.89 <= row["coverage"] <= 0.995
    # Replay keeps about one event in n_products: its ESS is the number of accepted events.
    assert row["mean_ess"] == pytest.approx(2_000 / 20, rel=0.1)


def test_replay_loop_equals_vectorised_replay_for_a_fixed_deterministic_policy():
    rng = np.random.default_rng(8)
    n, k = 3_000, 6
    actions = rng.integers(0, k, n)
    rewards = rng.binomial(1, 0.3, n).astype(float)
    chosen = rng.integers(0, k, n)
    # The event number rides in the last column of every row, so the agent can look its choice up.
    features = np.zeros((n, k, 3), dtype=np.float32)
    features[:, :, -1] = np.arange(n)[:, None]
    agent = FixedPolicyAgent(chosen)
    looped = replay(agent, torch.from_numpy(features), actions, rewards, propensities=np.full(n, 1 / k))
    vectorised = replay_fixed(deterministic_policy(chosen, k), actions, rewards)
    assert np.array_equal(looped.accepted, vectorised.accepted)
    assert looped.value == vectorised.value == rewards[chosen == actions].mean()
    assert agent.updates == looped.n_accepted == (chosen == actions).sum()
    assert (looped.estimate.lower, looped.estimate.upper) == pytest.approx(
        wilson_interval(rewards[chosen == actions].sum(), (chosen == actions).sum()))


def test_replay_of_a_learning_agent_matches_the_online_run():
    """Li et al.'s theorem: over seeds, LinUCB's mean click rate replayed equals its expected CTR online."""
    table = replay_versus_online(lambda seed: LinUCBAgent(10, FEATURE_DIM, alpha=1.0), horizon=200,
                                 seeds=range(12))
    assert not table["replay"].isna().any()
    per_seed = table.groupby("seed")[["online", "replay"]].mean()
    difference = per_seed["replay"] - per_seed["online"]
    se = difference.std(ddof=1) / math.sqrt(len(difference))
    assert abs(difference.mean()) <= t_quantile(0.9995, len(difference) - 1) * se
    # ... and it learned: the second half earns more than the first, in both.
    late = table[table["step"] >= 100].groupby("seed")[["online", "replay"]].mean()
    early = table[table["step"] < 100].groupby("seed")[["online", "replay"]].mean()
    assert (late["online"] - early["online"]).mean() > 0.02


def test_replay_feeds_the_agent_only_accepted_events_in_order():
    class Recorder:
        def __init__(self):
            self.seen, self.learned = [], []

        def predict(self, X):
            self.seen.append(int(X[0, 0]))
            return int(X[0, 0]) % 3

        def update(self, arm, x, reward):
            self.learned.append((int(x[0]), arm, reward))

    n = 30
    X = torch.zeros(n, 3, 2)
    X[:, :, 0] = torch.arange(n, dtype=torch.float32)[:, None]
    actions = np.array([i % 3 if i % 2 == 0 else (i + 1) % 3 for i in range(n)])
    rewards = (np.arange(n) % 5 == 0).astype(float)
    order = np.random.default_rng(0).permutation(n)
    agent = Recorder()
    result = replay(agent, X, actions, rewards, order=order)
    assert agent.seen == order.tolist()
    expected = [(i, i % 3, rewards[i]) for i in order if i % 2 == 0]
    assert agent.learned == expected
    assert result.n_accepted == len(expected)
    assert result.cumulative_reward().tolist() == np.cumsum([r for _, _, r in expected]).tolist()


def test_replay_difference_is_paired():
    rng = np.random.default_rng(6)
    n, k = 4_000, 5
    actions = rng.integers(0, k, n)
    rewards = rng.binomial(1, 0.2, n).astype(float)
    features = np.zeros((n, k, 2), dtype=np.float32)
    features[:, :, -1] = np.arange(n)[:, None]
    choice_a, choice_b = rng.integers(0, k, n), rng.integers(0, k, n)
    a = replay(FixedPolicyAgent(choice_a), features, actions, rewards)
    b = replay(FixedPolicyAgent(choice_b), features, actions, rewards)
    same = replay_difference(a, a)
    assert same.value == 0 and same.std_error == 0
    diff = replay_difference(a, b)
    expected = k * rewards * ((choice_a == actions).astype(float) - (choice_b == actions))
    assert diff.value == pytest.approx(expected.mean())
    assert diff.std_error == pytest.approx(expected.std(ddof=1) / math.sqrt(n))
    other_order = replay(FixedPolicyAgent(choice_b), features, actions, rewards, order=np.arange(n)[::-1])
    with pytest.raises(ValueError, match="same log in the same order"):
        replay_difference(a, other_order)


def test_replay_comparison_runs_every_agent_on_every_seed():
    n, k = 400, 4
    rng = np.random.default_rng(0)
    actions = rng.integers(0, k, n)
    rewards = rng.binomial(1, 0.3, n).astype(float)
    X = torch.from_numpy(rng.normal(size=(n, k, 3)).astype(np.float32))
    agents = {"LinUCB": lambda s: LinUCBAgent(k, 3, alpha=0.5), "LinUCB greedy": lambda s: LinUCBAgent(k, 3, alpha=0.0)}
    table = replay_comparison(agents, X, actions, rewards, seeds=[0, 1], shuffle=True, n_jobs=1)
    assert len(table) == 4 and set(table["agent"]) == set(agents)
    direct = replay(LinUCBAgent(k, 3, alpha=0.5), X, actions, rewards, order=np.random.default_rng(1).permutation(n))
    row = table[(table["agent"] == "LinUCB") & (table["seed"] == 1)].iloc[0]
    assert row["value"] == direct.value and row["n_accepted"] == direct.n_accepted
    assert np.array_equal(table.attrs["results"]["LinUCB", 1].accepted, direct.accepted)


# ---------------------------------------------------------------------------- validation
def test_rejected_inputs_name_the_argument():
    rewards, actions, propensities, target, predictions = random_log(n=20)
    with pytest.raises(ValueError, match="target_probabilities.*sum to 1"):
        ips(rewards, actions, propensities, target * 2)
    with pytest.raises(ValueError, match=r"propensities must lie in \(0, 1\]"):
        ips(rewards, actions, np.zeros(20), target)
    with pytest.raises(ValueError, match="actions must be < n_actions"):
        ips(rewards, actions + 10, propensities, target)
    with pytest.raises(TypeError, match="actions must be integer"):
        ips(rewards, actions.astype(float), propensities, target)
    with pytest.raises(ValueError, match="rewards must be finite"):
        ips(np.full(20, np.nan), actions, propensities, target)
    with pytest.raises(ValueError, match="target_probabilities must have one row per event"):
        snips(rewards, actions, propensities, target[:5])
    with pytest.raises(ValueError, match="reward_predictions must have shape"):
        doubly_robust(rewards, actions, propensities, target, predictions[:, :2])
    with pytest.raises(ValueError, match="confidence must be < 1"):
        ips(rewards, actions, propensities, target, confidence=1.0)
    with pytest.raises(ValueError, match="interval='wilson' needs rewards"):
        snips(rewards + 0.5, actions, propensities, target, interval="wilson")
    with pytest.raises(ValueError, match="n_folds must be"):
        cross_fit_ridge(np.zeros((20, 5, 2)), actions, rewards, n_folds=1)


def test_replay_refuses_a_non_uniform_log_before_touching_the_agent():
    n, k = 50, 4
    agent = LinUCBAgent(k, 2, alpha=1.0)
    X = torch.ones(n, k, 2)
    actions = np.zeros(n, dtype=int)
    with pytest.raises(ValueError, match="uniformly random logging policy"):
        replay(agent, X, actions, np.zeros(n), propensities=np.full(n, 0.5))
    with pytest.raises(ValueError, match="order must be a permutation"):
        replay(agent, X, actions, np.zeros(n), order=np.zeros(n, dtype=int))
    with pytest.raises(TypeError, match="agent must have predict"):
        replay(object(), X, actions, np.zeros(n))
    assert agent.t == 0 and agent._pending is None


def test_estimate_dataclass_fields():
    estimate = on_policy(np.array([0.0, 1.0, 1.0, 0.0]))
    assert isinstance(estimate, OffPolicyEstimate)
    assert estimate.half_width == pytest.approx((estimate.upper - estimate.lower) / 2)
    assert set(estimate.as_dict()) == {"estimator", "value", "std_error", "lower", "upper", "n", "ess", "interval"}
