"""Each performance shortcut against a slow, obviously-correct computation.

* fused_adam_step_ / flat_gradient_buffer against torch's own optimizer.step();
* FullConfidence with deferred Sherman--Morrison corrections against an explicit inverse;
* the compiled support-row loops (bandits_lib._kernels) against torch, and FullConfidence
  with them against FullConfidence without them and against an explicit inverse;
* the decision on distinct rows against argmax over every arm (ties included);
* update()'s same-memory check against value comparison;
* results independent of n_jobs for every neural agent.
"""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from agent_cases import CASES, info_for
from bandits_lib import (
    FeatureBuilder,
    LastLayerNeuralUCBAgent,
    LinUCBAgent,
    NeuralLinUCBAgent,
    NeuralUCBAgent,
    ZooplusSimulator,
    _kernels,
    run_comparison,
)
from bandits_lib.agents.base import _is_row_view, _RowGroups
from bandits_lib.confidence import DEFER_FROM_DIM, FullConfidence
from bandits_lib.networks import EmbeddingNetwork, NeuralBanditNetwork, flat_gradient_buffer, fused_adam_step_
from bandits_lib.reference import ReferenceNeuralUCBAgent


# ----------------------------------------------------------------------------- Adam
@pytest.mark.parametrize("make", [lambda: NeuralBanditNetwork(9, (16, 8), seed=0),
                                  lambda: EmbeddingNetwork(9, (16, 8), embedding_dim=6, seed=0)])
def test_fused_adam_step_is_bit_identical_to_optimizer_step(make):
    fast_model, slow_model = make(), make()
    fast = torch.optim.Adam(fast_model.parameters(), lr=1e-2, fused=True)
    slow = torch.optim.Adam(slow_model.parameters(), lr=1e-2, fused=True)
    p = sum(q.numel() for q in fast_model.parameters())
    gen = torch.Generator().manual_seed(1)
    for step in range(25):
        g = torch.randn(p, generator=gen)
        flat_gradient_buffer(fast).copy_(g)
        fused_adam_step_(fast)
        offset = 0
        for q in slow_model.parameters():
            q.grad = g[offset: offset + q.numel()].view_as(q).clone()
            offset += q.numel()
        slow.step()
        if step == 10:  # the buffer is made again after zero_grad() ...
            fast.zero_grad()
        if step == 17:  # ... and after a deep copy (fresh .grad tensors)
            fast_model, fast = copy.deepcopy((fast_model, fast))
    for a, b in zip(fast_model.parameters(), slow_model.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(fast.state.values(), slow.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))


def test_flat_gradient_buffer_slices_are_the_parameter_grads():
    model = NeuralBanditNetwork(9, (5, 3), seed=0)
    opt = torch.optim.Adam(model.parameters(), fused=True)
    flat = flat_gradient_buffer(opt)
    flat.copy_(torch.arange(flat.numel(), dtype=flat.dtype))
    expected = torch.cat([q.grad.reshape(-1) for q in model.parameters()])
    assert torch.equal(expected, flat)
    assert flat_gradient_buffer(opt) is flat  # reused while valid


def test_fused_adam_falls_back_for_other_settings():
    model = NeuralBanditNetwork(3, (4,), seed=0)
    twin = copy.deepcopy(model)
    for opt_fast, opt_slow in [(torch.optim.Adam(model.parameters(), lr=0.1), torch.optim.Adam(twin.parameters(), lr=0.1)),
                               (torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(twin.parameters(), lr=0.1))]:
        for _ in range(3):
            flat_gradient_buffer(opt_fast).fill_(0.5)
            fused_adam_step_(opt_fast)
            for q in twin.parameters():
                q.grad = torch.full_like(q, 0.5)
            opt_slow.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


# ----------------------------------------------------------------------------- deferred Sherman-Morrison
@pytest.mark.parametrize("flush_every", [1, 3, 7])
@pytest.mark.parametrize("with_solved", [False, True])
def test_deferred_corrections_equal_explicit_inverse(flush_every, with_solved):
    torch.manual_seed(0)
    p, lam = 40, 0.6
    conf = FullConfidence(p, lam, flush_every=flush_every)
    A = lam * torch.eye(p, dtype=torch.float64)
    for step in range(60):
        g = torch.randn(p, dtype=torch.float64)
        J = torch.randn(3, p, dtype=torch.float64)
        exact = torch.linalg.inv(A)
        # solve and the quadratic form see pending corrections (checked before each update)
        torch.testing.assert_close(conf.solve(J), J @ exact, rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(conf.quadratic_form(J), torch.einsum("kp,pq,kq->k", J, exact, J),
                                   rtol=1e-9, atol=1e-11)
        assert conf.n_pending == step % flush_every if flush_every > 1 else conf.n_pending == 0
        conf.update(g, conf.solve(g.unsqueeze(0))[0] if with_solved else None)
        A += torch.outer(g, g)
    assert conf.n_updates == 60
    torch.testing.assert_close(conf.inverse(), torch.linalg.inv(A), rtol=1e-9, atol=1e-11)
    assert conf.n_pending == 0  # inverse() folded the pending rows in


def test_deferred_and_immediate_agree_and_a_inv_attribute_is_current():
    torch.manual_seed(1)
    immediate, deferred = FullConfidence(25, 1.0, flush_every=1), FullConfidence(25, 1.0, flush_every=5)
    for _ in range(13):
        g = torch.randn(25, dtype=torch.float64)
        immediate.update(g)
        deferred.update(g)
    assert deferred.n_pending == 3
    torch.testing.assert_close(deferred.A_inv, immediate.A_inv, rtol=1e-10, atol=1e-12)
    assert deferred.n_pending == 0
    twin = copy.deepcopy(deferred)
    g = torch.randn(25, dtype=torch.float64)
    twin.update(g)
    deferred.update(g)
    torch.testing.assert_close(twin.inverse(), deferred.inverse())


# ----------------------------------------------------------------------------- rows on the support
needs_numba = pytest.mark.skipif(not _kernels.available(), reason="numba not installed")


def _sparse_rows(K, p, density, generator, dtype=torch.float64):
    G = torch.randn(K, p, generator=generator, dtype=dtype)
    return G * (torch.rand(K, p, generator=generator) < density)


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("p", [1, 2, 5, 8, 37])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_support_kernels_equal_dense_products(dtype, p, density):
    gen = torch.Generator().manual_seed(p)
    X = torch.randn(p, p, generator=gen, dtype=torch.float64)
    B = ((X + X.T) / 2).to(dtype)
    G = _sparse_rows(6, p, density, gen, dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    q = _kernels.support_quadratic_forms(B.numpy(), G.numpy())
    torch.testing.assert_close(torch.from_numpy(q), torch.einsum("kp,pq,kq->k", G, B, G), **tol)
    for g in G:
        support = np.flatnonzero(g.numpy())
        u = _kernels.combine_rows(B.numpy(), support, g.numpy()[support])
        torch.testing.assert_close(torch.from_numpy(u), B @ g, **tol)


@needs_numba
def test_support_rows_path_equals_torch_path_and_explicit_inverse(monkeypatch):
    gen = torch.Generator().manual_seed(3)
    p, lam = DEFER_FROM_DIM + 5, 0.8
    fast, plain = FullConfidence(p, lam, flush_every=4), FullConfidence(p, lam, flush_every=4)
    assert fast.reads_support_rows and fast.prepare(torch.ones(2, p)) is None
    A = lam * torch.eye(p, dtype=torch.float64)
    for step in range(9):
        G = _sparse_rows(5, p, 0.05 if step % 3 else 1.0, gen)  # sparse, and every third step dense
        exact = torch.linalg.inv(A)
        q_fast, solved_fast = fast.quadratic_form(G), fast.solve(G)
        with monkeypatch.context() as m:
            m.setattr(_kernels, "available", lambda: False)
            assert not plain.reads_support_rows and plain.prepare(G) is not None
            q_plain, solved_plain = plain.quadratic_form(G), plain.solve(G)
            plain.update(G[step % 5])
        torch.testing.assert_close(q_fast, q_plain, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(solved_fast, solved_plain, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(q_fast, torch.einsum("kp,pq,kq->k", G, exact, G), rtol=1e-8, atol=1e-10)
        fast.update(G[step % 5])
        A += torch.outer(G[step % 5], G[step % 5])
        assert fast.n_pending == plain.n_pending == (step + 1) % 4
    torch.testing.assert_close(fast.inverse(), torch.linalg.inv(A), rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(fast.inverse(), plain.inverse(), rtol=1e-10, atol=1e-12)


@needs_numba
def test_neuralucb_decides_the_same_with_and_without_support_rows(monkeypatch):
    """A network with p >= DEFER_FROM_DIM takes the compiled path; the decisions do not change."""
    simulator = ZooplusSimulator(n_products=20, seed=0)
    features = FeatureBuilder(simulator.products)
    stream = simulator.draw_stream(40)

    def arms(use_kernels):
        with monkeypatch.context() as m:
            if not use_kernels:
                m.setattr(_kernels, "available", lambda: False)
            agent = NeuralUCBAgent(9, (64, 32), confidence="full", jacobian="analytic", seed=0)
            assert agent.p >= DEFER_FROM_DIM and agent.confidence_matrix.reads_support_rows == use_kernels
            played = []
            for persona, u in zip(stream.personas.tolist(), stream.uniforms.tolist()):
                X = features.by_index[persona]
                arm = agent.predict(X)
                agent.update(arm, X[arm], float(u < simulator.ctr_matrix()[persona, arm]))
                played.append(arm)
            return played, agent.confidence_matrix.inverse()

    (fast_arms, fast_inverse), (plain_arms, plain_inverse) = arms(True), arms(False)
    assert fast_arms == plain_arms
    torch.testing.assert_close(fast_inverse, plain_inverse, rtol=1e-9, atol=1e-12)


def test_default_deferral_depends_on_size():
    assert FullConfidence(100, 1.0).flush_every == 1
    assert FullConfidence(9601, 1.0, device="meta").flush_every == 32
    with pytest.raises(ValueError, match="flush_every"):
        FullConfidence(10, 1.0, flush_every=0)


def test_neural_ucb_with_deferred_corrections_matches_the_draft_reference():
    fast = NeuralUCBAgent(9, (16, 8), lambda_=1.0, alpha=1.5, lr=1e-2, confidence="full", jacobian="analytic", seed=3)
    fast.confidence_matrix = FullConfidence(fast.p, 1.0, flush_every=4)
    slow = ReferenceNeuralUCBAgent(9, (16, 8), lambda_=1.0, alpha=1.5, lr=1e-2, confidence="full", seed=3,
                                   dtype=torch.float64)
    sim = ZooplusSimulator(n_products=12, seed=0)
    rows, stream, ctr = FeatureBuilder(sim.products).by_index, sim.draw_stream(90), sim.ctr_matrix()
    for t in range(90):
        X = rows[int(stream.personas[t])]
        mean, width = fast.score(X)
        for a, b in zip((mean, fast.alpha * width), slow.ucb_components(X)):
            torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=2e-5)
        arm = slow.predict(X)
        fast.predict(X)
        reward = float(stream.uniforms[t] < ctr[int(stream.personas[t]), arm])
        fast.update(arm, X[arm], reward)
        slow.update(arm, X[arm], reward)


# ----------------------------------------------------------------------------- decisions on distinct rows
def test_row_groups_against_first_appearance():
    gen = torch.Generator().manual_seed(0)
    for _ in range(100):
        k = int(torch.randint(1, 30, (1,), generator=gen))
        X = torch.randint(0, 3, (k, 2), generator=gen).float()
        groups = _RowGroups(X)
        seen = []
        for row in X.tolist():
            if row not in seen:
                seen.append(row)
        assert groups.group_of == [seen.index(row) for row in X.tolist()]
        assert groups.first_arm == [X.tolist().index(row) for row in seen]
        assert torch.equal(groups.rows[groups.inverse], X)
        scores = torch.randint(0, 2, (len(seen),), generator=gen).float()  # many ties
        assert groups.first_arm[int(torch.argmax(scores))] == int(torch.argmax(scores[groups.inverse]))


@pytest.mark.parametrize("name", [name for name in CASES if CASES[name]()._rng is None and name != "random"])
def test_decision_is_argmax_over_every_arm(name):
    """Deterministic agents play argmax(mean + alpha * width) over all arms, ties to the first,
    whether they score each distinct row once or every arm."""
    agent = CASES[name]()
    sim = ZooplusSimulator(seed=2)
    rows, stream = FeatureBuilder(sim.products).by_index, sim.draw_stream(150)
    for t in range(150):
        X = rows[int(stream.personas[t])]
        info = info_for(50, t)
        mean, width = agent.score(X, info)
        arm = agent.predict(X, info)
        assert arm == int(torch.argmax(mean + (agent.alpha * width).to(mean.dtype)))
        agent.update(arm, X[arm], float(stream.uniforms[t] < 0.3))


def test_all_rows_equal_gives_the_first_arm():
    agent = NeuralUCBAgent(3, (4,), confidence="diagonal", jacobian="analytic", seed=0)
    X = torch.ones(7, 3)
    assert agent.predict(X) == 0


# ----------------------------------------------------------------------------- update's same-memory check
def test_row_view_check():
    X = torch.rand(6, 4)
    assert all(_is_row_view(X[i], X, i) for i in range(6))
    assert not _is_row_view(X[2], X, 3)
    assert not _is_row_view(X[2].clone(), X, 2)
    assert not _is_row_view(X[2].double(), X, 2)
    square = torch.rand(4, 4)
    assert not _is_row_view(square[:, 0], square, 0)  # same address and shape as row 0, other stride
    assert not _is_row_view(X[2:3], X, 2)  # (1, d), not a row vector
    assert not _is_row_view(X[2].tolist(), X, 2)


def test_update_accepts_an_equal_copy_and_rejects_another_row():
    agent = LinUCBAgent(4, 3)
    X = torch.eye(4, 3)
    arm = agent.predict(X)
    with pytest.raises(ValueError, match="feature_vector must equal row"):
        agent.update(arm, X[(arm + 1) % 4], 1.0)
    agent.update(arm, X[arm].clone().double(), 1.0)  # equal values, other memory: checked in full
    assert agent.t == 1


# ----------------------------------------------------------------------------- determinism
def test_every_neural_agent_is_independent_of_n_jobs():
    agents = {
        "full": lambda s: NeuralUCBAgent(9, (8, 4), confidence="full", jacobian="analytic", seed=s),
        "diagonal": lambda s: NeuralUCBAgent(9, (8, 4), confidence="diagonal", jacobian="analytic", seed=s),
        "last_layer": lambda s: LastLayerNeuralUCBAgent(9, (8, 4), embedding_dim=4, seed=s),
        "hybrid": lambda s: NeuralLinUCBAgent(50, 9, (8, 4), embedding_dim=4, seed=s),
    }
    sequential = run_comparison(agents, 250, seeds=[0, 1], n_jobs=1, progress=False)
    parallel = run_comparison(agents, 250, seeds=[0, 1], n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(sequential, parallel)
    assert np.unique(sequential["arm"]).size > 1
