"""Training schedules (issue 13): the history loss, its gradient and a training round against a plain autograd
loop; the buffer; "online" bit-identical to today's agent; checkpoints; bad input; the paper's synthetic problems;
the reference-code-style agent."""

import copy
import math

import numpy as np
import pytest
import torch

from bandits_lib import NeuralUCBAgent
from bandits_lib.checkpoint import CheckpointError
from bandits_lib.envs import Environment
from bandits_lib.experiments import play
from bandits_lib.networks import EmbeddingNetwork, NeuralBanditNetwork
from bandits_lib.reference import ReferenceNeuralUCBDiag
from bandits_lib.envs.synthetic import SyntheticBandit
from bandits_lib.training import HistoryBuffer, HistoryTraining, check_training_options, make_training

D = 5


def observations(n, d=D, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    R = torch.randn(n, generator=g)
    return X, R


def filled(net, n=11, perturb=0.1, **options):
    """A HistoryTraining on ``net`` holding ``n`` observations, with the weights moved away from theta_0."""
    training = HistoryTraining(net, **options)
    X, R = observations(n)
    for x, r in zip(X, R, strict=True):
        training.buffer.append(x, float(r))
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(perturb * torch.randn(p.shape, generator=g))
    return training, X, R


def plain_loss(net, X, R, n, c, anchor, penalty, theta0):
    """The objective written out: mean squared error plus an explicit penalty, through autograd."""
    mse = ((net(X)[:, 0] - R) ** 2).mean()
    params = list(net.parameters())
    anchors = theta0 if anchor == "initial" else [torch.zeros_like(p) for p in params]
    weight = c / n if penalty == "total" else c
    return mse + weight * sum(((p - a) ** 2).sum() for p, a in zip(params, anchors, strict=True))


def flat_grad(net):
    return torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1) for p in net.parameters()])


def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- the loss and its gradient
@pytest.mark.parametrize("anchor", ["initial", "zero"])
@pytest.mark.parametrize("penalty", ["total", "per_sample"])
@pytest.mark.parametrize("gradient", ["autograd", "analytic"])
def test_history_loss_and_gradient_equal_a_plain_autograd_computation(anchor, penalty, gradient):
    net = NeuralBanditNetwork(D, (16, 8), seed=0)
    training, X, R = filled(net, regularization=0.3, anchor=anchor, penalty=penalty, gradient=gradient)
    theta0 = [t.clone() for t in training.theta0]
    for indices in (torch.tensor([3, 3, 0, 10]), None):
        rows = slice(None) if indices is None else indices
        expected = plain_loss(net, X[rows], R[rows], 11, 0.3, anchor, penalty, theta0)
        net.zero_grad(set_to_none=True)
        expected.backward()
        assert torch.equal(training.loss(net, indices).detach(), expected.detach())
        before = snapshot(net)
        got = training.gradient(net, indices)
        if gradient == "autograd":
            assert torch.equal(got, flat_grad(net))
        else:  # the closed form sums in another order: equal up to float32 rounding
            torch.testing.assert_close(got, flat_grad(net), rtol=1e-5, atol=1e-7)
        assert same(snapshot(net), before)  # gradient() does not move the model


def test_full_history_loss_is_2_over_n_times_the_papers_loss():
    # L(theta) = sum_i (f(x_i) - r_i)^2 / 2 + m lambda ||theta - theta_0||^2 / 2 with m lambda = regularization.
    net = NeuralBanditNetwork(D, (16,), seed=0)
    training, X, R = filled(net, regularization=0.7)
    with torch.no_grad():
        sq = ((net(X)[:, 0].double() - R.double()) ** 2).sum()
        gap = sum(((p.double() - t.double()) ** 2).sum() for p, t in zip(net.parameters(), training.theta0,
                                                                             strict=True))
        paper = sq / 2 + 0.7 * gap / 2
    assert float(training.loss(net).detach()) == pytest.approx(2 / 11 * float(paper), rel=1e-6)


def test_analytic_gradient_matches_autograd_on_a_wider_network():
    net = NeuralBanditNetwork(D, (100, 30), seed=3)
    training, _, _ = filled(net, n=300, regularization=1e-3, gradient="analytic")
    twin = HistoryTraining(net, regularization=1e-3, gradient="autograd")
    twin.buffer.load_state_dict(training.buffer.state_dict())
    twin.theta0 = training.theta0
    indices = torch.randint(0, 300, (64,), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(training.gradient(net, indices), twin.gradient(net, indices), rtol=1e-5, atol=1e-6)


def test_gradient_auto_uses_autograd_for_a_custom_prediction():
    net = EmbeddingNetwork(D, (8,), embedding_dim=4, seed=0)  # analytic applies (default prediction) ...
    training, X, R = filled(net, regularization=0.0)
    heads = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))

    def predict(model, X, arms):  # ... but not to an arm-dependent prediction (the hybrid's)
        return (model(X)["embedding"] * heads[arms]).sum(dim=1)

    training.buffer.load_state_dict({**training.buffer.state_dict(), "arms": torch.arange(11) % 3})
    net.zero_grad(set_to_none=True)
    ((predict(net, X, torch.arange(11) % 3) - R) ** 2).mean().backward()
    assert torch.equal(training.gradient(net, None, predict), flat_grad(net))


# ---------------------------------------------------------------------------- one training round
def plain_round(net, X, R, indices, steps, lr, c, anchor, penalty, theta0, optimizer):
    """A training round written out: one torch optimizer step per batch on the plain loss."""
    for step in range(steps):
        rows = slice(None) if indices is None else indices[step]
        optimizer.zero_grad()
        plain_loss(net, X[rows], R[rows], len(X), c, anchor, penalty, theta0).backward()
        optimizer.step()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [4, None])
def test_a_training_round_equals_a_plain_optimizer_loop(optimizer, batch_size):
    net = NeuralBanditNetwork(D, (16, 8), seed=0)
    lr = 0.05 if optimizer == "sgd" else 0.01
    training, X, R = filled(net, steps=6, batch_size=batch_size, lr=lr, optimizer=optimizer, regularization=0.3,
                            anchor="zero", penalty="per_sample", gradient="autograd", seed=7)
    twin = copy.deepcopy(net)
    theta0 = [t.clone() for t in training.theta0]
    plain_optimizer = (torch.optim.SGD(twin.parameters(), lr=lr) if optimizer == "sgd"
                       else torch.optim.Adam(twin.parameters(), lr=lr, fused=True))
    batches = torch.Generator().manual_seed(7)  # the schedule's batches: one (steps, batch_size) randint per round
    for _ in range(2):  # two rounds: Adam's state carries over
        indices = None if batch_size is None else torch.randint(0, 11, (6, batch_size), generator=batches)
        plain_round(twin, X, R, indices, 6, lr, 0.3, "zero", "per_sample", theta0, plain_optimizer)
        training.train(net)
        assert same(snapshot(net), snapshot(twin))
    assert training.n_trainings == 2 and training.n_steps == 12


def test_paper_regulariser_round_and_cold_start_equal_the_plain_loop():
    net = NeuralBanditNetwork(D, (16,), seed=0)
    training, X, R = filled(net, steps=5, batch_size=None, lr=0.1, regularization=0.5, anchor="initial",
                            penalty="total", warm_start=False, gradient="autograd")
    twin = copy.deepcopy(net)
    theta0 = [t.clone() for t in training.theta0]
    with torch.no_grad():  # warm_start=False: every round starts again from theta_0
        for p, t in zip(twin.parameters(), theta0, strict=True):
            p.copy_(t)
    plain_round(twin, X, R, None, 5, None, 0.5, "initial", "total", theta0, torch.optim.SGD(twin.parameters(), lr=0.1))
    training.train(net)
    assert same(snapshot(net), snapshot(twin))


def test_analytic_training_round_stays_close_to_autograd():
    nets = [NeuralBanditNetwork(D, (32, 16), seed=0) for _ in range(2)]
    runs = [filled(net, n=50, steps=20, batch_size=8, lr=0.05, regularization=1e-3, gradient=mode, seed=1)[0]
            for net, mode in zip(nets, ("analytic", "autograd"), strict=True)]
    for training, net in zip(runs, nets, strict=True):
        training.train(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_schedule_trains_every_round_before_dense_until_then_every_h():
    net = NeuralBanditNetwork(D, (4,), seed=0)
    training = HistoryTraining(net, steps=2, batch_size=None, train_every=5, dense_until=3, seed=0)
    X, R = observations(12)
    trained = [training.observe(net, x, float(r)) for x, r in zip(X, R, strict=True)]
    assert trained == [t < 3 or t % 5 == 0 for t in range(12)]
    assert (training.n_rounds, training.n_trainings, training.n_steps, len(training.buffer)) == (12, 5, 10, 12)


# ---------------------------------------------------------------------------- the buffer
def test_buffer_grows_by_doubling_and_keeps_every_row():
    buffer = HistoryBuffer(3, capacity=2)
    assert buffer.capacity == 0 and buffer.features.shape == (0, 3)
    X, R = observations(9, d=3)
    capacities = []
    for i, (x, r) in enumerate(zip(X, R, strict=True)):
        buffer.append(x, float(r), arm=i % 4)
        capacities.append(buffer.capacity)
    assert capacities == [2, 2, 4, 4, 8, 8, 8, 8, 16]
    assert torch.equal(buffer.features, X) and torch.equal(buffer.rewards, R)
    assert buffer.arms.tolist() == [i % 4 for i in range(9)]
    assert bool((buffer._features[9:] == 0).all())  # unused rows are zeros, never garbage


def test_buffer_window_keeps_the_last_observations():
    buffer = HistoryBuffer(2, capacity=1, window=3)
    X, R = observations(7, d=2)
    for x, r in zip(X, R, strict=True):
        buffer.append(x, float(r))
    assert (len(buffer), buffer.capacity, buffer.n_appended) == (3, 3, 7)
    assert sorted(buffer.rewards.tolist()) == sorted(R[4:].tolist())
    assert torch.equal(buffer.features[7 % 3 - 1], X[6])  # the newest overwrote the oldest


@pytest.mark.parametrize("window", [None, 4])
def test_buffer_state_dict_round_trip_resumes_bit_for_bit(window):
    buffer = HistoryBuffer(3, capacity=2, window=window)
    X, R = observations(14, d=3)
    for x, r in zip(X[:6], R[:6], strict=True):
        buffer.append(x, float(r), arm=1)
    state = buffer.state_dict()
    twin = HistoryBuffer(3, capacity=2, window=window)
    twin.load_state_dict(state)
    assert twin.capacity == buffer.capacity
    for x, r in zip(X[6:], R[6:], strict=True):
        buffer.append(x, float(r))
        twin.append(x, float(r))
    for name in ("features", "rewards", "arms"):
        assert torch.equal(getattr(twin, name), getattr(buffer, name))
    assert (twin.size, twin.n_appended, twin.capacity) == (buffer.size, buffer.n_appended, buffer.capacity)
    state["features"][0, 0] = 123.0  # the state is a copy
    assert float(buffer.features[0, 0]) != 123.0


@pytest.mark.parametrize(("args", "match"), [
    ((torch.ones(4), 1.0), "x must have shape"),
    ((torch.tensor([1.0, float("nan"), 0.0]), 1.0), "x must contain only finite"),
    ((torch.ones(3), float("inf")), "reward must be finite"),
    ((torch.ones(3), 1.0, -1), "arm must be >= 0"),
    ((torch.ones(3), "a"), "reward must be a real number"),
])
def test_buffer_rejects_bad_observations_and_changes_nothing(args, match):
    buffer = HistoryBuffer(3, capacity=2)
    buffer.append(torch.zeros(3), 0.5)
    before = buffer.state_dict()
    with pytest.raises((ValueError, TypeError), match=match):
        buffer.append(*args)
    after = buffer.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], v) if isinstance(v, torch.Tensor) else after[k] == v for k, v in before.items())


def test_buffer_load_state_dict_checks_everything_first():
    buffer = HistoryBuffer(3)
    buffer.append(torch.ones(3), 1.0)
    good = buffer.state_dict()
    bad = [({**good, "features": torch.ones(1, 4)}, "features"), ({**good, "rewards": torch.tensor([float("nan")])},
                                                                   "finite"),
           ({**good, "size": 2}, "n_appended"), ({k: v for k, v in good.items() if k != "arms"}, "keys"),
           ({**good, "feature_dim": 4}, "feature_dim")]
    for state, match in bad:
        with pytest.raises(ValueError, match=match):
            buffer.load_state_dict(state)
        assert len(buffer) == 1 and torch.equal(buffer.features, torch.ones(1, 3))


@pytest.mark.parametrize(("options", "match"), [
    ({"steps": 0}, "steps must be >= 1"), ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"train_every": 0}, "train_every must be >= 1"), ({"lr": -1.0}, "lr must be > 0"),
    ({"lr": float("nan")}, "lr must be finite"), ({"optimizer": "rmsprop"}, "optimizer must be one of"),
    ({"anchor": "origin"}, "anchor must be one of"), ({"penalty": "mean"}, "penalty must be one of"),
    ({"regularization": -1.0}, "regularization must be >= 0"), ({"warm_start": 1}, "warm_start must be a bool"),
    ({"dense_until": -1}, "dense_until must be >= 0"), ({"seed": -1}, "seed must be >= 0"),
    ({"window": 0}, "window must be >= 1"), ({"gradient": "numeric"}, "gradient must be one of"),
])
def test_history_training_rejects_bad_options_naming_them(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        HistoryTraining(NeuralBanditNetwork(D, (4,), seed=0), **options)


def test_analytic_gradient_needs_a_linear_relu_network():
    model = torch.nn.Sequential(torch.nn.Linear(D, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match="gradient='analytic' needs a Linear/ReLU network"):
        HistoryTraining(model, gradient="analytic")
    assert HistoryTraining(model)._uses_analytic(model, None) is False  # auto falls back to autograd


def test_observe_with_bad_input_changes_no_state():
    net = NeuralBanditNetwork(D, (4,), seed=0)
    training = HistoryTraining(net, steps=2, batch_size=2, seed=0)
    X, R = observations(3)
    for x, r in zip(X, R, strict=True):
        training.observe(net, x, float(r))
    before, weights = copy.deepcopy(training.state_dict()["attributes"]), snapshot(net)
    for args in ((torch.full((D,), float("nan")), 1.0), (torch.ones(D), float("nan")), (torch.ones(D + 1), 1.0)):
        with pytest.raises(ValueError):
            training.observe(net, *args)
    with pytest.raises(ValueError, match="built for a model with"):
        training.observe(NeuralBanditNetwork(D, (5,), seed=0), torch.ones(D), 1.0)
    after = training.state_dict()["attributes"]
    assert after["n_rounds"] == before["n_rounds"] and torch.equal(after["generator"], before["generator"])
    assert torch.equal(after["buffer"]["features"], before["buffer"]["features"]) and same(snapshot(net), weights)
    with pytest.raises(ValueError, match="history is empty"):
        HistoryTraining(net).train(net)


def test_training_options_are_checked_by_name():
    with pytest.raises(ValueError, match="training must be one of"):
        check_training_options("batch", None)
    with pytest.raises(ValueError, match=r"unknown keys \['stpes'\]"):
        check_training_options("history", {"stpes": 3})
    with pytest.raises(ValueError, match="training_options must be empty for training='online'"):
        check_training_options("online", {"steps": 3})
    with pytest.raises(ValueError, match="training_options: steps must be >= 1"):
        check_training_options("history", {"steps": 0})
    with pytest.raises(TypeError, match="training_options must be a dict"):
        check_training_options("history", [("steps", 3)])
    assert make_training("online", NeuralBanditNetwork(D, (4,))) is None


def test_agent_constructor_rejects_bad_training_before_building_anything():
    with pytest.raises(ValueError, match="training must be one of"):
        NeuralUCBAgent(D, (4,), training="offline")
    with pytest.raises(ValueError, match="training_options: lr must be > 0"):
        NeuralUCBAgent(D, (4,), training="history", training_options={"lr": 0.0})


# ---------------------------------------------------------------------------- agents
def play_pair(a, b, environment, steps):
    for t in range(steps):
        X = environment.context(t)
        arm_a, arm_b = a.predict(X), b.predict(X)
        assert arm_a == arm_b, f"the agents disagree at step {t}"
        reward = environment.reward(t, arm_a)
        a.update(arm_a, X[arm_a], reward)
        b.update(arm_b, X[arm_b], reward)


@pytest.mark.parametrize("confidence", ["full", "diagonal"])
def test_online_schedule_is_bit_identical_to_todays_agent(confidence):
    environment = SyntheticBandit("cosine", n_rounds=150, feature_dim=D, seed=3)
    kwargs = dict(hidden_dims=(16, 8), lambda_=0.5, alpha=0.3, lr=1e-2, confidence=confidence, jacobian="analytic",
                  seed=4)
    today, prototype = NeuralUCBAgent(D, **kwargs), NeuralUCBAgent(D, **kwargs, training="online")
    assert prototype.trainer is None and prototype.get_params()["training"] == "online"
    play_pair(today, prototype, environment, 150)
    assert same(snapshot(today.model), snapshot(prototype.model))
    mine, theirs = prototype.optimizer.state_dict()["state"], today.optimizer.state_dict()["state"]
    assert all(torch.equal(mine[i][k], theirs[i][k]) for i in theirs for k in theirs[i])
    kept = "A_inv" if confidence == "full" else "A_diag"
    assert torch.equal(getattr(today.confidence_matrix, kept), getattr(prototype.confidence_matrix, kept))


def test_history_agent_updates_the_confidence_like_today_and_trains_on_schedule():
    environment = SyntheticBandit("quadratic", n_rounds=30, feature_dim=D, seed=0)
    agent = NeuralUCBAgent(D, (8,), confidence="diagonal", seed=0, training="history",
                                  training_options={"steps": 3, "batch_size": 4, "train_every": 10})
    today = NeuralUCBAgent(D, (8,), confidence="diagonal", seed=0)
    X = environment.context(0)
    arm = agent.predict(X)
    assert arm == today.predict(X)
    agent.update(arm, X[arm], 1.0)
    today.update(arm, X[arm], 1.0)
    assert torch.equal(agent.confidence_matrix.A_diag, today.confidence_matrix.A_diag)  # same bonus bookkeeping
    assert agent.trainer.regularization == agent.lambda_  # the default that matches A_0 = lambda I
    play(agent, environment)
    assert (agent.trainer.n_rounds, agent.trainer.n_trainings, agent.trainer.n_steps) == (31, 4, 12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_history_agent_checkpoint_resumes_bit_for_bit(optimizer, tmp_path):
    environment = SyntheticBandit("cosine", n_rounds=120, feature_dim=D, seed=1)
    options = {"steps": 4, "batch_size": 8, "train_every": 3, "optimizer": optimizer,
               "lr": 0.05 if optimizer == "sgd" else 1e-2, "capacity": 16}
    agent = NeuralUCBAgent(D, (8,), confidence="diagonal", jacobian="analytic", seed=5, training="history",
                                  training_options=options)
    for t in range(50):
        X = environment.context(t)
        arm = agent.predict(X)
        agent.update(arm, X[arm], environment.reward(t, arm))
    path = agent.save(tmp_path / "agent.pt")
    twin = NeuralUCBAgent.load(path)
    assert twin.trainer.buffer.capacity == agent.trainer.buffer.capacity == 64
    for t in range(50, 120):
        X = environment.context(t)
        arm, arm_twin = agent.predict(X), twin.predict(X)
        assert arm == arm_twin
        agent.update(arm, X[arm], environment.reward(t, arm))
        twin.update(arm, X[arm], environment.reward(t, arm))
    assert same(snapshot(agent.model), snapshot(twin.model))
    assert torch.equal(agent.trainer.generator.get_state(), twin.trainer.generator.get_state())
    assert torch.equal(agent.trainer.buffer.features, twin.trainer.buffer.features)


def test_restoring_into_an_agent_with_another_buffer_capacity_works(tmp_path):
    """The schedule's state carries its buffer trimmed to size: it loads whatever the capacity there."""
    environment = SyntheticBandit("cosine", n_rounds=40, feature_dim=D, seed=1)
    options = {"steps": 1, "batch_size": 4, "capacity": 4}
    early = NeuralUCBAgent(D, (8,), confidence="diagonal", seed=5, training="history", training_options=options)
    late = copy.deepcopy(early)
    for agent, steps in ((early, 3), (late, 20)):
        for t in range(steps):
            X = environment.context(t)
            arm = agent.predict(X)
            agent.update(arm, X[arm], environment.reward(t, arm))
    path = early.save(tmp_path / "early.pt")
    late.restore(path)
    assert len(late.trainer.buffer) == 3 and late.t == 3 and same(snapshot(late.model), snapshot(early.model))
    assert torch.equal(late.trainer.buffer.features, early.trainer.buffer.features)


def test_a_bad_schedule_state_is_refused_whole(tmp_path):
    environment = SyntheticBandit("cosine", n_rounds=10, feature_dim=D, seed=1)
    agent = NeuralUCBAgent(D, (8,), confidence="diagonal", seed=5, training="history",
                           training_options={"steps": 1, "batch_size": 4})
    for t in range(5):
        X = environment.context(t)
        arm = agent.predict(X)
        agent.update(arm, X[arm], environment.reward(t, arm))
    state = agent.state_dict()
    state["attributes"]["trainer"]["attributes"]["buffer"]["rewards"][2] = float("nan")
    before = snapshot(agent.model), agent.t, len(agent.trainer.buffer)
    with pytest.raises(CheckpointError, match="trainer.*finite"):
        agent.load_state_dict(state)
    assert same(snapshot(agent.model), before[0]) and agent.t == before[1]


# ---------------------------------------------------------------------------- the paper's synthetic problems
@pytest.mark.parametrize("function", ["quadratic", "quadratic_form", "cosine"])
def test_synthetic_problem_contexts_rewards_and_determinism(function):
    env = SyntheticBandit(function, n_rounds=400, n_arms=4, feature_dim=20, noise_sd=0.1, seed=11)
    assert isinstance(env, Environment) and len(env) == 400 and env.context(0).shape == (4, 20)
    norms = env.contexts_tensor.double().norm(dim=2)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-6)
    assert abs(np.linalg.norm(env.a) - 1.0) < 1e-12
    X = env.contexts_tensor.double().numpy()
    h = {"quadratic": 10 * (X @ env.a) ** 2, "cosine": np.cos(3 * (X @ env.a)),
         "quadratic_form": np.einsum("tkd,de,tke->tk", X, env.A.T @ env.A, X)}
    np.testing.assert_allclose(env.expected, h[function], rtol=1e-10, atol=1e-12)
    noise = np.array([[env.reward(t, a) - env.expected_reward(t, a) for a in range(4)] for t in range(400)])
    assert abs(noise.mean()) < 4 * 0.1 / math.sqrt(noise.size)  # mean h(x): the noise is centred
    assert noise.std() == pytest.approx(0.1, rel=0.08)
    assert all(env.oracle_reward(t) == max(env.expected_reward(t, a) for a in range(4)) for t in range(400))
    twin, other = SyntheticBandit(function, n_rounds=400, seed=11), SyntheticBandit(function, n_rounds=400, seed=12)
    assert torch.equal(twin.contexts_tensor, env.contexts_tensor) and np.array_equal(twin.rewards, env.rewards)
    assert not torch.equal(other.contexts_tensor, env.contexts_tensor)
    assert env.context(5) is env.context(5)  # one tensor per round: agents check it once


def test_synthetic_problems_share_contexts_and_noise_across_functions_per_seed():
    a, b = SyntheticBandit("cosine", n_rounds=50, seed=2), SyntheticBandit("quadratic", n_rounds=50, seed=2)
    assert torch.equal(a.contexts_tensor, b.contexts_tensor) and np.array_equal(a.noise, b.noise)


def test_synthetic_ball_contexts_are_inside_the_unit_ball():
    env = SyntheticBandit("cosine", n_rounds=500, contexts="ball", seed=0)
    norms = env.contexts_tensor.norm(dim=2)
    assert bool((norms <= 1 + 1e-6).all()) and float(norms.min()) < 0.9
    assert float(norms.mean()) == pytest.approx(20 / 21, abs=0.01)  # E|x| = d / (d + 1) in the ball


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"function": "sine"}, "function must be one of"), ({"n_rounds": 0}, "n_rounds must be >= 1"),
    ({"noise_sd": -0.1}, "noise_sd must be >= 0"), ({"contexts": "cube"}, "contexts must be one of"),
    ({"seed": -1}, "seed must be >= 0"), ({"n_arms": 0}, "n_arms must be >= 1"),
])
def test_synthetic_problem_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticBandit(**kwargs)


def test_synthetic_problem_rejects_bad_steps_and_arms():
    env = SyntheticBandit(n_rounds=3)
    with pytest.raises(ValueError, match=r"t must be in \[0, 3\)"):
        env.context(3)
    with pytest.raises(ValueError, match=r"arm must be in \[0, 4\)"):
        env.reward(0, 4)


# ---------------------------------------------------------------------------- the reference-code-style agent
def test_reference_agent_bonus_and_mean_match_the_library_agent_with_the_same_weights():
    lam, nu = 1e-3, 1.0
    environment = SyntheticBandit("cosine", n_rounds=5, seed=0)
    reference = ReferenceNeuralUCBDiag(20, width=16, lambda_=lam, nu=nu, seed=3)
    library = NeuralUCBAgent(20, (16,), lambda_=lam, alpha=math.sqrt(lam * nu), confidence="diagonal",
                             jacobian="analytic", seed=3)
    X = environment.context(0)
    for agent in (reference, library):
        arm = agent.predict(X)
        agent.update(arm, X[arm], 0.0)  # only U / diag(A) move: compare the next bonus before training matters
    reference.model.load_state_dict(library.model.state_dict())
    X = environment.context(1)
    mean_r, bonus_r = reference.score(X)  # the reference's width is its whole bonus (alpha = 1)
    mean_l, width_l = library.score(X)
    bonus_l = library.alpha * width_l
    torch.testing.assert_close(mean_r, mean_l, rtol=0, atol=2e-7)
    torch.testing.assert_close(bonus_r, bonus_l, rtol=1e-5, atol=2e-7)
    # and the bonus is sqrt(sum lambda nu g^2 / U) with U = lambda + g_chosen^2
    from bandits_lib.jacobian import jacobian_loop

    G = jacobian_loop(reference.model, X)
    expected = torch.sqrt((lam * nu * G * G / reference.U).sum(dim=1))
    assert torch.equal(bonus_r, expected)


def test_reference_agent_stores_and_trains_only_on_training_rounds():
    environment = SyntheticBandit("cosine", n_rounds=12, feature_dim=D, seed=0)
    agent = ReferenceNeuralUCBDiag(D, width=8, max_steps=7, dense_until=3, train_every=4, seed=0, backend="torch")
    play(agent, environment)
    trained = [t for t in range(12) if t < 3 or t % 4 == 0]  # 0, 1, 2, 4, 8
    assert len(agent.history) == len(trained)
    assert torch.equal(agent.history.features[3], environment.context(4)[agent.history.arms[3]])
    assert agent.n_train_steps <= 7 * len(trained)


def test_reference_numba_backend_runs_the_same_training_loop_as_torch():
    nets = []
    for backend in ("torch", "numba"):
        agent = ReferenceNeuralUCBDiag(D, width=12, max_steps=60, seed=2, backend=backend)
        X, R = observations(25)
        for x, r in zip(X, R, strict=True):
            agent.history.append(x, float(r))
        loss = agent.train()  # same shuffled order: the numpy generator of the same seed
        nets.append((snapshot(agent.model), loss, agent.n_train_steps))
    (torch_weights, torch_loss, torch_steps), (numba_weights, numba_loss, numba_steps) = nets
    assert torch_steps == numba_steps == 60
    assert numba_loss == pytest.approx(torch_loss, rel=1e-5)
    for a, b in zip(torch_weights, numba_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_reference_training_stops_when_a_pass_is_good_enough():
    agent = ReferenceNeuralUCBDiag(D, width=8, max_steps=1000, loss_tolerance=10.0, seed=0)
    agent.history.append(torch.ones(D), 0.0)
    agent.history.append(torch.zeros(D), 0.0)
    agent.train()
    assert agent.n_train_steps == 2  # one pass of the two samples, whose mean loss is below 10


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"width": 0}, "width must be >= 1"), ({"lambda_": 0.0}, "lambda_ must be > 0"),
    ({"backend": "jax"}, "backend must be one of"), ({"max_steps": 0}, "max_steps must be >= 1"),
])
def test_reference_agent_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReferenceNeuralUCBDiag(D, **kwargs)


def test_analytic_gradient_covers_the_last_layer_model():
    net = EmbeddingNetwork(D, (12, 6), embedding_dim=4, seed=1)
    training, _, _ = filled(net, regularization=0.2, gradient="analytic")
    twin = HistoryTraining(net, regularization=0.2, gradient="autograd")
    twin.buffer.load_state_dict(training.buffer.state_dict())
    twin.theta0 = training.theta0
    torch.testing.assert_close(training.gradient(net), twin.gradient(net), rtol=1e-5, atol=1e-7)
