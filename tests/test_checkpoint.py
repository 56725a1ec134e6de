"""Checkpoints: save, load, resume bit for bit, and refuse bad files without changing anything."""

import copy
import os
import pickle

import numpy as np
import pytest
import torch

import bandits_lib
from agent_cases import CASES, info_for
from bandits_lib import (
    BanditAgent,
    EpsilonGreedyAgent,
    FeatureBuilder,
    InteractionStream,
    LinUCBAgent,
    NeuralUCBAgent,
    OracleAgent,
    PetShopEnvironment,
    ZooplusSimulator,
)
from bandits_lib.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint, state_digest
from bandits_lib.experiments import play

D = 9
WORLD = 3


def run(agent, environment, start=0, stop=None):
    out = play(agent, environment, start, stop)
    return out["arm"], out["reward"], out["expected_reward"]


@pytest.fixture(scope="module")
def stream():
    return ZooplusSimulator(seed=WORLD).draw_stream(240)


@pytest.mark.parametrize("name", list(CASES))
def test_resume_reproduces_the_uninterrupted_run(name, stream, tmp_path):
    """Interrupt at step 140 (after a market shock at 100), save, load in fresh objects, finish: same run."""
    environment = PetShopEnvironment.from_stream(ZooplusSimulator(seed=WORLD), stream, market_shock_at=100)
    agent = CASES[name]()
    reference = copy.deepcopy(agent)  # same start, also for seed=None
    full = run(reference, environment)

    first = run(agent, environment, 0, 140)
    agent.save(tmp_path / "agent.pt")
    stream.save(tmp_path / "stream.pt")
    del agent

    resumed = type(reference).load(tmp_path / "agent.pt")
    world = PetShopEnvironment.from_stream(ZooplusSimulator(seed=WORLD), InteractionStream.load(tmp_path / "stream.pt"),
                                           market_shock_at=100)
    second = run(resumed, world, 140)
    for a, b, c in zip(full, first, second):
        np.testing.assert_array_equal(a, np.concatenate([b, c]))
    assert resumed.t == reference.t == len(stream)
    assert state_digest(resumed) == state_digest(reference)


def test_resume_with_a_manual_loop_and_the_simulators_own_random_draws(tmp_path):
    """The draft's loop (get_random_user / get_reward draw from simulator.rng) resumes exactly too."""
    def loop(agent, sim, steps):
        log = []
        for _ in range(steps):
            user = sim.get_random_user()
            X = bandits_lib.create_feature_vectors(sim.user_to_persona_map[user], sim.products)
            arm = agent.predict(X)
            reward = sim.get_reward(user, arm)
            agent.update(arm, X[arm], reward)
            log.append((user, arm, reward))
        return log

    sim, agent = ZooplusSimulator(seed=5), EpsilonGreedyAgent(50, D, epsilon=0.3, seed=4)
    full = loop(agent, sim, 120)
    sim, agent = ZooplusSimulator(seed=5), EpsilonGreedyAgent(50, D, epsilon=0.3, seed=4)
    first = loop(agent, sim, 50)
    save_checkpoint(agent, tmp_path / "a.pt")
    save_checkpoint(sim, tmp_path / "s.pt")
    sim, agent = load_checkpoint(tmp_path / "s.pt"), load_checkpoint(tmp_path / "a.pt")
    assert isinstance(agent, EpsilonGreedyAgent) and isinstance(sim, ZooplusSimulator)
    assert first + loop(agent, sim, 70) == full


@pytest.mark.parametrize("name", ["linucb", "neural_full", "hybrid", "epsilon_greedy"])
def test_state_dict_round_trip_in_memory_and_copies(name, stream):
    environment = PetShopEnvironment.from_stream(ZooplusSimulator(seed=WORLD), stream)
    agent = CASES[name]()
    run(agent, environment, 0, 60)
    state = agent.state_dict()
    digest = state_digest(state)
    run(agent, environment, 60, 120)  # training on must not touch the saved state
    assert state_digest(state) == digest
    twin = CASES[name]()
    twin.load_state_dict(state)
    assert state_digest(twin.state_dict()) == digest and twin.t == 60


def test_file_is_safe_to_load_with_weights_only(tmp_path):
    agent = EpsilonGreedyAgent(50, D, seed=0)
    agent.save(tmp_path / "a.pt")
    payload = torch.load(tmp_path / "a.pt", weights_only=True)
    assert payload["content"]["class"].endswith("EpsilonGreedyAgent")
    assert payload["content"]["config"]["epsilon"] == 0.1
    assert read_checkpoint(tmp_path / "a.pt")["state"]["attributes"]["_rng"]["state"]["bit_generator"] == "PCG64"


def test_base_class_load_rebuilds_the_stored_class_and_device_override(tmp_path):
    agent = NeuralUCBAgent(D, (8,), confidence="diagonal", seed=3)
    agent.save(tmp_path / "n.pt")
    loaded = BanditAgent.load(tmp_path / "n.pt", device="cpu", feature_dim=D, hidden_dims=(8,))
    assert type(loaded) is NeuralUCBAgent and loaded.confidence == "diagonal"
    assert state_digest(loaded) == state_digest(agent)


# ------------------------------------------------------------------ refusals change nothing
def trained(case, steps=30):
    agent = case()
    run(agent, PetShopEnvironment(steps, seed=WORLD))
    return agent


@pytest.fixture
def linucb_file(tmp_path):
    agent = trained(CASES["linucb"])
    path = agent.save(tmp_path / "linucb.pt")
    return path


def test_loading_another_agent_type_names_the_file(linucb_file):
    with pytest.raises(ValueError, match=r"linucb\.pt.*LinUCBAgent.*not a NeuralUCBAgent"):
        NeuralUCBAgent.load(linucb_file)
    with pytest.raises(ValueError, match=r"linucb\.pt.*not a ZooplusSimulator"):
        ZooplusSimulator.load(linucb_file)
    agent = trained(CASES["neural_full"])
    before = state_digest(agent)
    with pytest.raises(ValueError, match=r"linucb\.pt.*LinUCBAgent.*not a NeuralUCBAgent"):
        agent.restore(linucb_file)
    assert state_digest(agent) == before


def test_loading_another_feature_dim_or_hyperparameters_is_refused(linucb_file):
    with pytest.raises(ValueError, match=r"linucb\.pt.*feature_dim=9, expected 5"):
        LinUCBAgent.load(linucb_file, feature_dim=5)
    other = LinUCBAgent(50, 5)
    arm = other.predict(torch.eye(50, 5))
    other.update(arm, torch.eye(50, 5)[arm], 1.0)
    before = state_digest(other)
    with pytest.raises(ValueError, match=r"linucb\.pt.*feature_dim=9 in the checkpoint, 5 here"):
        other.restore(linucb_file)
    assert state_digest(other) == before
    other_alpha = LinUCBAgent(50, D, alpha=0.5)
    with pytest.raises(ValueError, match="alpha=1.5 in the checkpoint, 0.5 here"):
        other_alpha.restore(linucb_file)


def corruptions(path):
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    yield "truncated", data[: len(data) // 2]
    yield "truncated by one byte", data[:-1]
    yield "flipped byte", bytes(flipped)
    yield "empty", b""
    yield "noise", np.random.default_rng(0).bytes(len(data))
    yield "text", b"not a checkpoint\n"


@pytest.mark.parametrize("kind", ["truncated", "truncated by one byte", "flipped byte", "empty", "noise", "text"])
def test_corrupted_or_truncated_files_raise_value_error_and_change_nothing(kind, linucb_file, tmp_path):
    content = dict(corruptions(linucb_file))[kind]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    agent = trained(CASES["linucb"], steps=10)
    before = state_digest(agent)
    with pytest.raises(ValueError, match=r"bad\.pt: ") as info:
        agent.restore(bad)
    assert not isinstance(info.value, (pickle.UnpicklingError, RuntimeError))
    assert state_digest(agent) == before
    with pytest.raises(ValueError, match=r"bad\.pt: "):
        LinUCBAgent.load(bad)


def test_a_malicious_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "owned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "bandits_lib.checkpoint", "state": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt: not a readable checkpoint"):
        LinUCBAgent.load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_a_checkpoint_edited_after_saving_is_refused(tmp_path, linucb_file):
    payload = torch.load(linucb_file, weights_only=True)
    payload["content"]["state"]["attributes"]["t"] = 10_000
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"edited\.pt: the checksum does not match") as info:
        LinUCBAgent.load(tmp_path / "edited.pt")
    assert isinstance(info.value, ValueError)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        LinUCBAgent.load(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="directory"):
        LinUCBAgent.load(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        LinUCBAgent(5, D).save(tmp_path / "no" / "such" / "dir.pt")


@pytest.mark.parametrize("name", ["neural_full", "last_layer", "hybrid", "epsilon_greedy"])
def test_wrong_shapes_never_half_apply(name):
    """A state whose *last* entry is wrong is refused before the first one is applied."""
    agent = trained(CASES[name])
    state = trained(CASES[name], steps=50).state_dict()
    attributes = state["attributes"]
    before = state_digest(agent)
    # Break the last tensor we can find, deep inside (optimizer moments, ridge, or A^{-1}).
    last_key = list(attributes)[-1]
    bad = dict(attributes)
    broken = _break_last_tensor(bad[last_key])
    assert broken is not None, f"no tensor under {last_key}"
    bad[last_key] = broken
    with pytest.raises(ValueError, match="shape"):
        agent.load_state_dict({**state, "attributes": bad})
    assert state_digest(agent) == before
    # and a generator state of the wrong kind, for agents with one
    if isinstance(attributes.get("_rng"), dict) and attributes["_rng"].get("__kind__") == "numpy_generator":
        with pytest.raises(ValueError, match="_rng"):
            agent.load_state_dict({**state, "attributes": {**attributes, "_rng": {"__kind__": "numpy_generator",
                                                                              "state": {"bit_generator": "MT19937"}}}})
        assert state_digest(agent) == before


def _break_last_tensor(value):
    """A copy of ``value`` with its last tensor (depth first) given an extra row."""
    if isinstance(value, torch.Tensor):
        return torch.cat([value.reshape(-1), value.reshape(-1)[:1]])
    if isinstance(value, dict):
        for key in reversed(list(value)):
            broken = _break_last_tensor(value[key])
            if broken is not None:
                return {**value, key: broken}
    if isinstance(value, (list, tuple)):
        for i in reversed(range(len(value))):
            broken = _break_last_tensor(value[i])
            if broken is not None:
                items = list(value)
                items[i] = broken
                return type(value)(items)
    return None


def test_nan_in_a_state_is_refused():
    agent = trained(CASES["linucb"])
    state = agent.state_dict()
    state["attributes"]["ridge"]["attributes"]["theta"][3, 1] = float("nan")
    before = state_digest(agent)
    with pytest.raises(ValueError, match="theta: contains NaN"):
        agent.load_state_dict(state)
    assert state_digest(agent) == before


def test_no_checkpoint_between_predict_and_update_and_load_discards_the_pending_decision(tmp_path):
    agent = LinUCBAgent(50, D)
    X = FeatureBuilder(ZooplusSimulator().products)("cat_connoisseur")
    agent.save(tmp_path / "fresh.pt")
    arm = agent.predict(X)
    with pytest.raises(ValueError, match=r"between predict\(\) and update\(\).*call update\(\) first"):
        agent.save(tmp_path / "pending.pt")
    assert not (tmp_path / "pending.pt").exists()
    agent.update(arm, X[arm], 1.0)
    agent.predict(X)
    agent.restore(tmp_path / "fresh.pt")
    assert agent.t == 0
    with pytest.raises(ValueError, match="predict"):
        agent.update(arm, X[arm], 1.0)


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    agent = trained(CASES["linucb"])
    path = agent.save(tmp_path / "a.pt")
    good = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        trained(CASES["linucb"], steps=40).save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary file left


# ------------------------------------------------------------------ oracle, simulator, stream
def test_the_oracle_reads_the_world_from_info_and_needs_no_simulator(tmp_path):
    """The oracle keeps no world: a loaded oracle follows whatever the environment tells it."""
    oracle = trained(CASES["oracle"])
    oracle.save(tmp_path / "oracle.pt")
    loaded = OracleAgent.load(tmp_path / "oracle.pt")
    assert loaded.t == oracle.t and state_digest(loaded) == state_digest(oracle)
    environment = PetShopEnvironment(10, seed=WORLD, market_shock_at=5)
    puppy = next(t for t in range(5, 10) if environment.info(t)["persona"] == 0) if any(
        environment.info(t)["persona"] == 0 for t in range(5, 10)) else None
    for t in range(10):
        arm = loaded.predict(environment.context(t), environment.info(t))
        assert environment.expected_reward(t, arm) == environment.oracle_reward(t)
        loaded.update(arm, environment.context(t)[arm], environment.reward(t, arm))
    if puppy is not None:  # after the shock, the puppy parent is shown fish
        arm = loaded.predict(environment.context(puppy), environment.info(puppy))
        assert environment.simulator.products.loc[arm, "category"] == "Fish Supplies"
    with pytest.raises(ValueError, match=r"info\['expected_rewards'\]"):
        loaded.predict(environment.context(0))


def test_every_case_saves_and_loads_through_the_generic_loader(tmp_path):
    for name, case in CASES.items():
        agent = case()
        X = FeatureBuilder(ZooplusSimulator().products)("fish_hobbyist")
        arm = agent.predict(X, info_for(50))
        agent.update(arm, X[arm], 1.0)
        path = save_checkpoint(agent, tmp_path / f"{name}.pt")
        twin = load_checkpoint(path)
        assert type(twin) is type(agent) and twin.get_params().keys() == agent.get_params().keys(), name
        assert state_digest(twin) == state_digest(agent), name


def test_simulator_round_trip_keeps_rng_preferences_and_shock(tmp_path):
    sim = ZooplusSimulator(n_products=20, n_users=30, seed=9)
    sim.introduce_market_shock()
    [sim.get_random_user() for _ in range(7)]
    sim.save(tmp_path / "sim.pt")
    loaded = ZooplusSimulator.load(tmp_path / "sim.pt")
    assert loaded.shocked and loaded.personas == sim.personas
    assert loaded.personas_before_shock == sim.personas_before_shock
    np.testing.assert_array_equal(loaded.ctr_matrix(), sim.ctr_matrix())
    assert [loaded.get_random_user() for _ in range(50)] == [sim.get_random_user() for _ in range(50)]
    other = ZooplusSimulator(n_products=20, n_users=30, seed=10)
    before = other.rng.bit_generator.state
    with pytest.raises(ValueError, match=r"sim\.pt.*seed=9 in the checkpoint, 10 here"):
        other.restore(tmp_path / "sim.pt")
    assert other.rng.bit_generator.state == before and not other.shocked
    fresh = ZooplusSimulator(n_products=20, n_users=30, seed=9)
    fresh.restore(tmp_path / "sim.pt")
    assert fresh.shocked


def test_stream_round_trip_and_slicing(tmp_path):
    stream = ZooplusSimulator(seed=1).draw_stream(50)
    stream.save(tmp_path / "s.pt")
    loaded = InteractionStream.load(tmp_path / "s.pt")
    for name in ("users", "personas", "uniforms"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(stream, name))
    assert len(loaded[10:]) == 40 and loaded[10:].users[0] == stream.users[10]
    with pytest.raises(TypeError, match="slice"):
        loaded[3]
    with pytest.raises(ValueError, match=r"s\.pt.*not a LinUCBAgent"):
        LinUCBAgent.load(tmp_path / "s.pt")


def test_unsupported_attribute_types_fail_at_save_naming_the_attribute(tmp_path):
    agent = LinUCBAgent(5, D)
    agent.log_file = open(os.devnull)  # not state that can be restored
    try:
        with pytest.raises(ValueError, match=r"LinUCBAgent\.log_file.*cannot be checkpointed"):
            agent.save(tmp_path / "x.pt")
        assert not (tmp_path / "x.pt").exists()
    finally:
        agent.log_file.close()
