import numpy as np
import pytest

from bandits_lib import CATEGORIES, PERSONAS, ZooplusSimulator
from bandits_lib.envs.simulator import BASE_PERSONAS, SHOCK_PREFERENCES, click_from_uniform
from draft_simulator import DraftZooplusSimulator


@pytest.mark.parametrize("n_products,n_users,seed", [(50, 1000, 42), (53, 300, 7), (5, 10, 0), (12, 1, 3)])
def test_same_world_as_the_draft(n_products, n_users, seed):
    ours, draft = ZooplusSimulator(n_products, n_users, seed), DraftZooplusSimulator(n_products, n_users, seed)
    assert list(ours.products["category"]) == [str(c) for c in draft.products["category"]]
    assert list(ours.products.index) == list(draft.products.index)
    assert ours.user_to_persona_map == {u: str(p) for u, p in draft.user_to_persona_map.items()}


@pytest.mark.parametrize("shock_at", [None, 150])
def test_same_users_and_clicks_as_the_draft_for_any_arms(shock_at):
    ours, draft = ZooplusSimulator(seed=11), DraftZooplusSimulator(seed=11)
    arms = np.random.default_rng(0).integers(0, 50, size=400)
    for t, arm in enumerate(arms):
        if t == shock_at:
            ours.introduce_market_shock()
            draft.introduce_market_shock()
        user = ours.get_random_user()
        assert user == draft.get_random_user()
        assert ours.get_true_ctr(user, int(arm)) == draft.get_true_ctr(user, int(arm))
        assert ours.get_reward(user, int(arm)) == draft.get_reward(user, int(arm))


def test_stream_replays_the_draft_sequence_for_any_arms():
    """The pre-drawn stream has the draft's users; its clicks are the draft's wherever CTR <= 0.5."""
    n = 3000
    stream = ZooplusSimulator(seed=5).draw_stream(n)
    draft = DraftZooplusSimulator(seed=5)
    ctr = ZooplusSimulator(seed=5).ctr_matrix()
    arms = np.random.default_rng(1).integers(0, 50, size=n)
    compared = 0
    for t in range(n):
        assert stream.users[t] == draft.get_random_user()
        p = ctr[stream.personas[t], arms[t]]
        ours = bool(click_from_uniform(stream.uniforms[t], p))
        theirs = bool(draft.get_reward(int(stream.users[t]), int(arms[t])))
        if p <= 0.5:
            assert ours == theirs
            compared += 1
        else:  # numpy's own rule above 0.5 is u <= p; ours stays monotone: u > 1 - p
            assert theirs == (stream.uniforms[t] <= p) and ours == (stream.uniforms[t] > 1 - p)
    assert compared > 2500


def test_click_rule_is_monotone_in_the_ctr():
    """At any step, an arm with a higher CTR clicks whenever one with a lower CTR does."""
    u = np.random.default_rng(2).random(20_000)
    ctrs = np.array([0.0, 0.02, 0.1, 0.45, 0.5, 0.55, 0.6, 0.99, 1.0])
    clicks = np.stack([click_from_uniform(u, p) for p in ctrs])
    assert (np.diff(clicks.astype(int), axis=0) >= 0).all()


def test_click_rule_has_the_right_probability():
    u = np.random.default_rng(0).random(200_000)
    for p in (0.02, 0.3, 0.5, 0.55, 0.6, 0.99):
        assert abs(click_from_uniform(u, p).mean() - p) < 0.005
    assert not click_from_uniform(u, 0.0).any()
    assert click_from_uniform(u, 1.0).all()


def test_reproducible_for_a_seed_and_different_across_seeds():
    a, b, c = ZooplusSimulator(seed=3), ZooplusSimulator(seed=3), ZooplusSimulator(seed=4)
    assert a.products.equals(b.products) and a.user_to_persona_map == b.user_to_persona_map
    assert [a.get_random_user() for _ in range(50)] == [b.get_random_user() for _ in range(50)]
    assert a.user_to_persona_map != c.user_to_persona_map


def test_shock_changes_exactly_the_puppy_parent():
    sim = ZooplusSimulator()
    before = sim.ctr_matrix()
    sim.introduce_market_shock()
    after = sim.ctr_matrix()
    changed = np.flatnonzero((before != after).any(axis=1))
    assert [PERSONAS[i] for i in changed] == ["new_puppy_parent"]
    assert sim.personas["new_puppy_parent"] == SHOCK_PREFERENCES
    assert np.array_equal(after, ZooplusSimulator().shocked_ctr_matrix())
    assert BASE_PERSONAS["new_puppy_parent"]["Dog Toy"] == 0.50  # the module constant is untouched


def test_oracle_is_the_best_category_per_persona():
    sim = ZooplusSimulator(n_products=50)
    best = [max(BASE_PERSONAS[p].values()) for p in PERSONAS]
    assert np.allclose(sim.oracle_ctr(), best)
    for user in range(0, 1000, 97):
        persona = sim.persona_index(user)
        assert sim.oracle_ctr()[persona] == max(sim.get_true_ctr(user, a) for a in range(50))


def test_ctr_matrix_matches_get_true_ctr():
    sim = ZooplusSimulator(n_products=23, seed=9)
    table = sim.ctr_matrix()
    for user in range(0, 1000, 111):
        for product in range(23):
            assert table[sim.persona_index(user), product] == sim.get_true_ctr(user, product)
    assert set(sim.products["category"]) <= set(CATEGORIES)


@pytest.mark.parametrize("user,product", [(-1, 0), (1000, 0), (0, 50), (0, -3)])
def test_unknown_ids_are_errors_not_zero(user, product):
    sim = ZooplusSimulator()
    with pytest.raises(ValueError, match="user_id|product_id"):
        sim.get_true_ctr(user, product)


@pytest.mark.parametrize("kwargs,name", [({"n_products": 0}, "n_products"), ({"n_users": 0}, "n_users"),
                                         ({"n_products": 2.5}, "n_products"), ({"seed": -1}, "seed")])
def test_bad_constructor_arguments(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        ZooplusSimulator(**kwargs)
