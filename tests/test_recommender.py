"""Chapter 1's static recommender: logging, model, training, evaluation, frozen deployment."""

import copy
import functools

import numpy as np
import pandas as pd
import pytest
import torch

from bandits_lib import (
    PERSONAS,
    FeatureBuilder,
    FrozenRecommenderAgent,
    MLPRecommender,
    OracleAgent,
    PetShopEnvironment,
    RandomAgent,
    ZooplusSimulator,
    collect_log,
    make_frozen_recommender,
    run_comparison,
    run_shock_experiment,
    train_recommender,
)
from bandits_lib.experiments import play
from bandits_lib.recommender import calibration_table, evaluate_recommender, split_log


# ---------------------------------------------------------------------------- logging
def test_uniform_log_covers_products_and_users_uniformly():
    sim = ZooplusSimulator(seed=3)
    n = 50_000
    log = collect_log(sim, n, seed=0)
    assert list(log.columns) == ["user_id", "product_id", "persona", "category", "true_ctr", "click"]
    assert len(log) == n and log["click"].isin([0, 1]).all()
    # Every product is shown n / 50 = 1000 times in expectation (binomial sd ~31).
    counts = np.bincount(log["product_id"], minlength=sim.n_products)
    expected = n / sim.n_products
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)
    # The product shown does not depend on the persona: chi-square test of independence.
    table = pd.crosstab(log["persona"], log["product_id"]).to_numpy()
    independent = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - independent) ** 2 / independent).sum()
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)  # 147; mean 147, sd ~17
    assert chi2 < dof + 6 * np.sqrt(2 * dof)
    assert log["user_id"].nunique() == sim.n_users


def test_log_matches_the_simulator_ground_truth():
    sim = ZooplusSimulator(seed=4)
    log = collect_log(sim, 20_000, seed=2)
    for row in log.head(200).itertuples():
        assert row.true_ctr == sim.get_true_ctr(row.user_id, row.product_id)
        assert row.persona == sim.user_to_persona_map[row.user_id]
        assert row.category == sim.products.loc[row.product_id, "category"]
    # Clicks are Bernoulli(true CTR): the click rate per CTR level is close to the level.
    for ctr, group in log.groupby("true_ctr"):
        if len(group) > 500:
            assert abs(group["click"].mean() - ctr) < 5 * np.sqrt(ctr * (1 - ctr) / len(group))


def test_logging_is_reproducible_and_leaves_the_simulator_rng_alone():
    sim = ZooplusSimulator(seed=5)
    state = copy.deepcopy(sim.rng.bit_generator.state)
    a, b = collect_log(sim, 3000, seed=7), collect_log(sim, 3000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(collect_log(sim, 3000, seed=8))
    assert sim.rng.bit_generator.state == state
    # The log is not a replay of the simulator's own stream, even with the same seed.
    stream = ZooplusSimulator(seed=7).draw_stream(3000)
    assert (a["user_id"].to_numpy() != stream.users).mean() > 0.9


def test_logging_policy_per_persona():
    sim = ZooplusSimulator(seed=6)
    policy = np.zeros((len(PERSONAS), sim.n_products))
    dog = np.flatnonzero(np.isin(sim.products["category"], ["Dog Food", "Dog Toy"]))
    policy[:, :] = 1.0 / sim.n_products
    policy[0] = 0.0
    policy[0, dog] = 1.0 / len(dog)  # puppy parents are only ever shown dog products
    log = collect_log(sim, 20_000, seed=1, product_probabilities=policy)
    puppies = log[log["persona"] == PERSONAS[0]]
    assert set(puppies["product_id"]) == set(dog.tolist())
    others = log[log["persona"] != PERSONAS[0]]
    assert others["product_id"].nunique() == sim.n_products
    # One distribution for everyone: frequencies follow it.
    weights = np.arange(1, sim.n_products + 1, dtype=float)
    weights /= weights.sum()
    log = collect_log(sim, 50_000, seed=2, product_probabilities=weights)
    frequencies = np.bincount(log["product_id"], minlength=sim.n_products) / len(log)
    np.testing.assert_allclose(frequencies, weights, atol=5 * np.sqrt(weights.max() / len(log)))


def test_split_is_a_disjoint_partition():
    log = collect_log(ZooplusSimulator(seed=0), 1000, seed=0).reset_index(names="row")
    train, test = split_log(log, test_fraction=0.25, seed=3)
    assert len(test) == 250 and len(train) == 750
    assert set(train["row"]).isdisjoint(test["row"])
    assert set(train["row"]) | set(test["row"]) == set(range(1000))
    again, _ = split_log(log, test_fraction=0.25, seed=3)
    pd.testing.assert_frame_equal(train, again)


# ---------------------------------------------------------------------------- model
def test_model_shapes_and_seeded_initialisation():
    model = MLPRecommender(20, 7, embedding_dim=4, hidden_dims=(8,), seed=1)
    assert model.user_embedding.weight.shape == (20, 4)
    assert model.product_embedding.weight.shape == (7, 4)
    assert model(torch.tensor([0, 19]), torch.tensor([6, 0])).shape == (2,)
    table = model.ctr_table()
    assert table.shape == (20, 7) and bool(((table > 0) & (table < 1)).all())
    torch.testing.assert_close(model.predict_ctr([3, 5], [2, 6]), table[[3, 5], [2, 6]])
    twin, other = (MLPRecommender(20, 7, embedding_dim=4, hidden_dims=(8,), seed=s) for s in (1, 2))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(model.user_embedding.weight, other.user_embedding.weight)


def toy_log(n=6000, seed=0):
    """Two kinds of users with opposite tastes for two kinds of products: learnable from ids."""
    rng = np.random.default_rng(seed)
    users, products = rng.integers(0, 8, n), rng.integers(0, 4, n)
    ctr = np.where((users % 2) == (products % 2), 0.8, 0.1)
    return pd.DataFrame({"user_id": users, "product_id": products, "true_ctr": ctr,
                         "click": (rng.random(n) < ctr).astype(np.int8)})


def test_training_lowers_the_loss_and_learns_the_toy_tastes():
    log = toy_log()
    model = MLPRecommender(8, 4, embedding_dim=4, hidden_dims=(16,), seed=0)
    history = train_recommender(model, log, epochs=10, batch_size=256, lr=0.03, seed=0)
    assert list(history.columns) == ["epoch", "train_loss", "validation_loss"]
    assert len(history) == 11
    assert history["train_loss"].iloc[-1] < 0.8 * history["train_loss"].iloc[0]
    assert history["validation_loss"].min() < 0.8 * history["validation_loss"].iloc[0]
    table = model.ctr_table().numpy()
    truth = np.where((np.arange(8)[:, None] % 2) == (np.arange(4)[None, :] % 2), 0.8, 0.1)
    np.testing.assert_allclose(table, truth, atol=0.1)
    metrics = evaluate_recommender(model, log)
    assert metrics.loc["MLPRecommender", "auc"] > 0.75
    assert metrics.loc["MLPRecommender", "log_loss"] < metrics.loc["constant click rate", "log_loss"]


def test_early_stopping_returns_the_best_validation_epoch():
    log = toy_log(600, seed=1)
    model = MLPRecommender(8, 4, embedding_dim=8, hidden_dims=(64,), seed=0)
    history = train_recommender(model, log, epochs=8, batch_size=32, lr=0.1, validation_fraction=0.3, seed=4)
    best = int(history["validation_loss"].idxmin())
    assert history.attrs["best_epoch"] == history.loc[best, "epoch"] < 8  # it overfits, then stops early
    # The model holds the parameters of that epoch: recompute its validation loss.
    generator = torch.Generator().manual_seed(4)
    held = torch.randperm(len(log), generator=generator)[:180].numpy()
    part = log.iloc[held]
    with torch.no_grad():
        logits = model(torch.tensor(part["user_id"].to_numpy()), torch.tensor(part["product_id"].to_numpy()))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.tensor(part["click"].to_numpy(), dtype=torch.float32))
    assert float(loss) == pytest.approx(history["validation_loss"].min(), rel=1e-5)


def test_training_is_reproducible():
    log = toy_log(2000)
    models = [MLPRecommender(8, 4, embedding_dim=4, hidden_dims=(8,), seed=3) for _ in range(2)]
    histories = [train_recommender(m, log, epochs=3, batch_size=100, seed=9) for m in models]
    pd.testing.assert_frame_equal(*histories)
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(p, q)


def test_metrics_against_direct_formulas():
    log = toy_log(400, seed=2)
    model = MLPRecommender(8, 4, embedding_dim=2, hidden_dims=(4,), seed=5)
    metrics = evaluate_recommender(model, log)
    p = model.predict_ctr(log["user_id"].to_numpy(), log["product_id"].to_numpy()).double().numpy()
    y = log["click"].to_numpy()
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert metrics.loc["MLPRecommender", "log_loss"] == pytest.approx(bce, rel=1e-6)
    # AUC: probability a clicked row outranks an unclicked one (ties count one half).
    pos, neg = p[y == 1], p[y == 0]
    auc = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    assert metrics.loc["MLPRecommender", "auc"] == pytest.approx(auc, rel=1e-9)
    assert metrics.loc["constant click rate", "auc"] == 0.5
    assert metrics.loc["true CTR", "auc"] > 0.7
    table = calibration_table(model, log, n_bins=4)
    assert table["n"].sum() == len(log) and table["n"].min() == 100
    assert table["mean_predicted"].is_monotonic_increasing
    assert table["mean_predicted"].to_numpy() @ table["n"].to_numpy() == pytest.approx(p.sum(), rel=1e-9)


# ---------------------------------------------------------------------------- frozen agent
def small_world(seed=0):
    return ZooplusSimulator(n_products=10, n_users=40, seed=seed)


def test_frozen_agent_plays_the_argmax_for_the_visitor_the_environment_names():
    environment = PetShopEnvironment(300, seed=1, n_products=10, n_users=40)
    model = MLPRecommender(40, 10, embedding_dim=3, hidden_dims=(8,), seed=0)
    agent = FrozenRecommenderAgent(model)
    out = play(agent, environment)
    expected = model.ctr_table().numpy().argmax(1)[environment.stream.users]
    np.testing.assert_array_equal(out["arm"], expected)
    assert agent.t == 300


def test_frozen_agent_inside_run_comparison_and_the_shock_fork():
    factory = functools.partial(make_frozen_recommender, n_products=10, n_users=40, n_log=4000, embedding_dim=4,
                                hidden_dims=(8,), epochs=3)
    agents = {"Frozen": factory, "Random": RandomAgent(9), "Oracle": OracleAgent(9)}
    kwargs = dict(n_products=10, n_users=40, seeds=[0, 1], n_jobs=1, progress=False)
    tables = run_shock_experiment(agents, 400, market_shock_at=200, **kwargs)
    for seed in (0, 1):
        agent = factory(seed)
        for name in ("stationary", "shock"):
            df = tables[name]
            run = df[(df.agent == "Frozen") & (df.seed == seed)]
            np.testing.assert_array_equal(run["arm"].to_numpy(), agent.recommendation[run["user"].to_numpy()])
    # Frozen means frozen: the same arm for the same user before and after the shock.
    shocked = tables["shock"]
    frozen = shocked[shocked.agent == "Frozen"]
    assert frozen.groupby(["seed", "user"])["arm"].nunique().max() == 1
    df = run_comparison(agents, 400, **kwargs)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), tables["stationary"].reset_index(drop=True))


def test_trained_frozen_recommender_beats_random_in_its_world():
    sim = ZooplusSimulator(n_products=20, n_users=100, seed=2)
    agent = make_frozen_recommender(2, sim, n_log=20_000, embedding_dim=8, hidden_dims=(32,), epochs=8)
    truth = sim.ctr_matrix()[sim.persona_index(np.arange(100))]
    played = truth[np.arange(100), agent.recommendation].mean()
    assert played > truth.mean() + 0.5 * (truth.max(1).mean() - truth.mean())
    assert agent.history.attrs["best_epoch"] >= 1


def test_frozen_agent_needs_the_visitor_and_a_bad_one_changes_nothing():
    agent = FrozenRecommenderAgent(MLPRecommender(40, 10, seed=0))
    X = FeatureBuilder(small_world().products)("fish_hobbyist")
    for info, error in ((None, "info\\['user'\\]"), ({"user": 40}, "n_users"), ({"user": -1}, "info"),
                        ({"user": "7"}, "info")):
        with pytest.raises((ValueError, TypeError), match=error):
            agent.predict(X, info)
        assert agent._pending is None and agent.t == 0
    assert agent.predict(X, {"user": 7}) == agent.recommendation[7]


@pytest.mark.parametrize("call, error, match", [
    (lambda: collect_log("shop", 10), TypeError, "simulator"),
    (lambda: collect_log(ZooplusSimulator(), 0), ValueError, "n_interactions"),
    (lambda: collect_log(ZooplusSimulator(), 10, product_probabilities=np.ones(49) / 49), ValueError, "shape"),
    (lambda: collect_log(ZooplusSimulator(), 10, product_probabilities=np.ones(50)), ValueError, "sum to 1"),
    (lambda: collect_log(ZooplusSimulator(), 10, product_probabilities=[0.5, 0.5]), TypeError, "numpy"),
    (lambda: split_log(pd.DataFrame({"user_id": [0]}), 0.2), ValueError, "missing"),
    (lambda: split_log(toy_log(10), 1.0), ValueError, "test_fraction"),
    (lambda: MLPRecommender(0, 5), ValueError, "n_users"),
    (lambda: MLPRecommender(5, 5, hidden_dims=()), ValueError, "hidden_dims"),
    (lambda: MLPRecommender(5, 5).predict_ctr([0, 5], [0, 0]), ValueError, "user_ids"),
    (lambda: MLPRecommender(5, 5).predict_ctr([0.5], [0]), TypeError, "user_ids"),
    (lambda: MLPRecommender(5, 5).predict_ctr([0, 1], [0]), ValueError, "same length"),
    (lambda: train_recommender(MLPRecommender(8, 4), toy_log(10), epochs=0), ValueError, "epochs"),
    (lambda: train_recommender(MLPRecommender(8, 3), toy_log(100)), ValueError, "product_id"),
    (lambda: train_recommender(MLPRecommender(8, 4), toy_log(100).assign(click=2)), ValueError, "click"),
    (lambda: train_recommender(MLPRecommender(8, 4), toy_log(100), validation_fraction=1.0), ValueError,
     "validation_fraction"),
    (lambda: train_recommender("model", toy_log(100)), TypeError, "model"),
    (lambda: evaluate_recommender(MLPRecommender(8, 4), toy_log(100).assign(click=0)), ValueError, "both"),
    (lambda: FrozenRecommenderAgent("model"), TypeError, "recommender"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_rejected_training_changes_nothing():
    model = MLPRecommender(8, 4, seed=0)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError):
        train_recommender(model, toy_log(100), lr=-1.0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
