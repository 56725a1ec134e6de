r"""The confidence maths shared by every agent that explores: what is known, and how well.

An agent's uncertainty about an arm with feature (or gradient) vector :math:`g` is the
width :math:`\sqrt{g^\top A^{-1} g}` of its confidence ellipsoid,
:math:`A = \lambda I + \textstyle\sum_s g_s g_s^\top`; an exploration rule
(:mod:`bandits_lib.exploration`) turns it into a decision, e.g. UCB's
:math:`\hat\mu + \alpha\sqrt{g^\top A^{-1} g}`.

Three ways to keep :math:`A` (or what is needed of it):

* :class:`FullConfidence` keeps :math:`A^{-1}` exactly, by Sherman--Morrison
  rank-one updates (never a per-step inverse):
  :math:`A^{-1} \leftarrow A^{-1} - \frac{(A^{-1}g)(A^{-1}g)^\top}{1 + g^\top A^{-1} g}`.
* :class:`DiagonalConfidence` keeps only :math:`\operatorname{diag}(A)`, so
  :math:`g^\top A^{-1} g \approx \sum_j g_j^2 / A_{jj}` (memory and time O(p)).
* :class:`DisjointRidge` keeps one ridge regression per arm (LinUCB's
  :math:`A_a^{-1}, b_a, \hat\theta_a`), all arms in one batched tensor.

For a batch of vectors (rows of ``G``) the squared bonuses are the diagonal of
:math:`G A^{-1} G^\top` (Theorem 3.1), computed without forming the ``K x K`` matrix.

Taught in: chapters/03_2_neuralucb, chapters/03_3_jacobian, chapters/03_5_cost_of_exploration,
chapters/appendix_performance (deferred corrections, rows on the gradients' support).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _kernels
from ._validation import check_float, check_int
from .checkpoint import Stateful


def _cast(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``tensor.to(dtype)``, skipping the call (a dispatch, about a microsecond) when nothing changes."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def confidence_width(squared: torch.Tensor) -> torch.Tensor:
    r"""The width :math:`\sqrt{\max(q, 0)}` of each quadratic form :math:`q = g^\top A^{-1} g` (new tensor).

    Rounding can make ``q`` slightly negative; the exact value is never below 0.

    Examples
    --------
    >>> confidence_width(torch.tensor([4.0, -1e-12])).tolist()
    [2.0, 0.0]
    """
    return torch.clamp(squared, min=0.0).sqrt_()


def batched_quadratic_form(G: torch.Tensor, A_inv: torch.Tensor) -> torch.Tensor:
    r"""``diag(G A^{-1} G^T)`` as one contraction, shape (K,).

    Parameters
    ----------
    G : torch.Tensor, shape (K, p)
    A_inv : torch.Tensor, shape (p, p), symmetric

    Examples
    --------
    >>> G = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    >>> batched_quadratic_form(G, torch.eye(2) / 2).tolist()
    [0.5, 1.0]
    """
    return torch.einsum("kp,pq,kq->k", G, A_inv, G)


#: Below this many coordinates :class:`FullConfidence` applies every rank-one update
#: at once (the matrix is small, one more operation per step costs more than it saves);
#: from it on, it defers them (see ``flush_every``). Chosen from benchmarks/ (appendix).
DEFER_FROM_DIM = 2048
#: Default number of deferred rank-one corrections of a large :class:`FullConfidence`.
DEFAULT_FLUSH_EVERY = 32


def _lost_definiteness(kept: object, q: float, arm: int | None = None, refreshed: bool = False) -> None:
    """Raise ``FloatingPointError``, unless ``kept`` keeps :math:`A` and has not just recomputed from it."""
    if getattr(kept, "_A", None) is not None and not refreshed:
        return  # the caller recomputes A^{-1} from A
    where = "" if arm is None else f" of arm {arm}"
    dtype = kept.A_inv.dtype if arm is not None else kept._base.dtype  # type: ignore[attr-defined]
    n = getattr(kept, "n_updates", None)
    n = sum(kept.counts) if n is None else n  # type: ignore[attr-defined]
    state = (f"g^T A^{{-1}} g = {q:.3g} < 0 after {n} updates in {dtype} with lambda_={kept.lambda_:g}"  # type: ignore[attr-defined]
             + (", even just after recomputing A^{-1} from A" if refreshed else ""))
    raise FloatingPointError(
        f"{type(kept).__name__}: the kept A^{{-1}}{where} is no longer positive definite ({state}; rounding "
        "grows like eps / lambda_). Use dtype=torch.float64, a larger lambda_"
        + ("" if refreshed else ", or refresh_every=... to recompute A^{-1} from A") + "; nothing was updated"
    )


class FullConfidence(Stateful):
    r"""Exact :math:`A^{-1}` of :math:`A = \lambda I_p + \sum_s g_s g_s^\top`.

    Parameters
    ----------
    dim : int
        ``p``, the length of the vectors.
    lambda_ : float
        Ridge :math:`\lambda > 0`; :math:`A_0 = \lambda I`.
    dtype : torch.dtype, default torch.float64
        Precision of :math:`A^{-1}` (float64 keeps long runs from drifting).
    device : torch.device or str, default "cpu"
    flush_every : int, optional
        How many Sherman--Morrison corrections to defer (``m`` below). ``1`` applies
        each at once. Default: 1 for ``dim < DEFER_FROM_DIM`` (2,048), else 32.
    refresh_every : int, optional
        Also keep :math:`A` (float64, ``p^2`` more memory) and recompute :math:`A^{-1}`
        from it every ``refresh_every`` updates (:meth:`refresh`), which resets the
        rounding drift of the rank-one updates. Off by default: in float64 the drift
        stays negligible (appendix_reliability measures it); in float32 it grows with
        the number of updates and like ``eps / lambda_``.

    Raises
    ------
    FloatingPointError
        From :meth:`update`, when :math:`g^\top A^{-1} g < -1/2` (or is not finite):
        rounding has made the kept :math:`A^{-1}` indefinite, and the update would
        divide by a denominator far below its exact minimum of 1. With
        ``refresh_every`` set, :math:`A^{-1}` is recomputed from :math:`A` instead.
        Nothing is changed before the error.

    Notes
    -----
    Sherman--Morrison turns :math:`A \leftarrow A + g g^\top` into
    :math:`A^{-1} \leftarrow A^{-1} - w w^\top` with
    :math:`w = A^{-1}g / \sqrt{1 + g^\top A^{-1} g}`. Applied at once, that is one
    read *and* write of the :math:`p \times p` matrix per step, on top of the read that
    :meth:`solve` needs. Deferred, the matrix is kept as

    .. math:: A^{-1} = B - W^\top W, \qquad W \in \mathbb{R}^{k \times p},\; k < m,

    each update appends a row :math:`w` to :math:`W` (:math:`O(p)`), :meth:`solve`
    reads :math:`B` once and corrects with :math:`W` (:math:`O(kp)`), and every ``m``
    updates one matrix product :math:`B \leftarrow B - W^\top W` folds the rows in. Per
    step that is one read of :math:`B` plus :math:`1/m` of a read-write, instead of a
    read plus a read-write: for ``p = 9,601`` (737 MB in float64) memory traffic, not
    arithmetic, is the cost (measured in the performance appendix).

    Sparse gradients read less. The gradient of a ReLU network on one-hot inputs is
    zero on every weight behind a zero input or an inactive unit (in the pet shop most
    coordinates). As :math:`B` is symmetric, :math:`B g = \sum_{j:\, g_j \ne 0} g_j B_{j,:}`
    needs only the rows of :math:`B` on the support of :math:`g`, and
    :math:`g^\top B g = \sum_{i:\, g_i \ne 0} g_i (B_{i,:} g)` too. On the CPU, for a large
    matrix (:attr:`reads_support_rows`), :meth:`quadratic_form` and :meth:`solve` use
    these sums (compiled loops in :mod:`bandits_lib._kernels`), so a step reads the rows
    of :math:`B` on the support of the candidates' gradients for the bonus and those on
    the played gradient's support for the update, each row once, start to end.

    Both forms are the same matrix up to rounding (tested against an explicit inverse).
    :meth:`inverse` and the ``A_inv`` attribute fold pending rows in first, so they
    always return the exact current :math:`A^{-1}`.
    """

    def __init__(self, dim: int, lambda_: float, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu",
                 flush_every: int | None = None, refresh_every: int | None = None) -> None:
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        if flush_every is None:
            flush_every = 1 if self.dim < DEFER_FROM_DIM else DEFAULT_FLUSH_EVERY
        self.flush_every = check_int("flush_every", flush_every, minimum=1)
        self._base = torch.eye(self.dim, dtype=dtype, device=device).div_(self.lambda_)  # B (in place: no 2nd p x p)
        # Rows w of W, waiting to be folded into B; the first n_pending rows are live.
        self._pending_rows = (torch.zeros(self.flush_every, self.dim, dtype=dtype, device=device)
                              if self.flush_every > 1 else None)
        self.n_pending = 0
        self.n_updates = 0
        # A itself (float64), kept only when refresh_every is set, to recompute A^{-1} from it.
        self.refresh_every = None if refresh_every is None else check_int("refresh_every", refresh_every, minimum=1)
        self._A = (torch.eye(self.dim, dtype=torch.float64, device=device).mul_(self.lambda_)
                   if self.refresh_every is not None else None)
        self.n_refreshes = 0

    # ---------------------------------------------------------------- the matrix
    @property
    def A_inv(self) -> torch.Tensor:
        r"""The current :math:`A^{-1}`, shape (p, p) (pending corrections folded in first)."""
        self.flush()
        return self._base

    @A_inv.setter
    def A_inv(self, value: torch.Tensor) -> None:
        if not isinstance(value, torch.Tensor) or value.shape != (self.dim, self.dim):
            raise ValueError(f"A_inv must be a tensor of shape ({self.dim}, {self.dim})")
        self._base = value
        self.n_pending = 0

    @property
    def dtype(self) -> torch.dtype:
        """Precision of the kept matrix."""
        return self._base.dtype

    def flush(self) -> None:
        r"""Fold the pending rows into :math:`B` (one matrix product, :math:`B \leftarrow B - W^\top W`)."""
        if self.n_pending:
            W = self._pending_rows[: self.n_pending]
            self._base.addmm_(W.T, W, alpha=-1.0)
            self.n_pending = 0

    def inverse(self) -> torch.Tensor:
        r"""The current :math:`A^{-1}`, shape (p, p) (the live tensor; do not modify)."""
        return self.A_inv

    # ---------------------------------------------------------------- per step
    @property
    def reads_support_rows(self) -> bool:
        """Whether this matrix takes the compiled path of :mod:`bandits_lib._kernels`.

        True for a large matrix (``dim >= DEFER_FROM_DIM``) on the CPU when numba is
        installed: :meth:`quadratic_form` and :meth:`solve` then read only the rows of
        :math:`B` on the support of the gradients (the nonzero coordinates), each row once.
        """
        return self.dim >= DEFER_FROM_DIM and self._base.device.type == "cpu" and _kernels.available()

    def prepare(self, G: torch.Tensor) -> torch.Tensor | None:
        r"""What the bonus and the update of the rows of ``G`` (shape (K, p)) can share.

        The rows :math:`A^{-1} g_k` (:meth:`solve`), passed back to :meth:`quadratic_form`
        and, for the played row, to :meth:`update`; or ``None`` when
        :attr:`reads_support_rows`: then the bonus reads the rows of :math:`B` on the
        support of ``G`` and the update those on the support of the played gradient, less
        than the one full product :math:`B G^\top` the shared rows would cost.
        """
        return None if self.reads_support_rows else self.solve(G)

    def solve(self, G: torch.Tensor) -> torch.Tensor:
        r"""Rows :math:`A^{-1} g_k` for the rows of ``G`` (shape (K, p)), shape (K, p).

        For a large matrix, computed as :math:`(B G^\top)^\top` (valid as :math:`B` is
        symmetric): a matrix times a few columns, the orientation the CPU BLAS streams
        fastest; for a small one as :math:`G B`, one operation instead of three. With
        :attr:`reads_support_rows` and sparse rows (fewer nonzeros in ``G`` than ``p``),
        each row is :math:`\sum_{j:\,g_j \ne 0} g_j B_{j,:}` (symmetry again), which reads
        only the rows of :math:`B` where ``g`` is nonzero.
        """
        G = _cast(G, self._base.dtype)
        if self.dim < DEFER_FROM_DIM and not self.n_pending:
            return torch.mm(G, self._base)
        if self.reads_support_rows and int(torch.count_nonzero(G)) <= self.dim:
            solved = torch.empty_like(G)
            for row, out in zip(G.detach().contiguous().numpy(), solved.numpy()):
                support = np.flatnonzero(row)
                out[:] = _kernels.combine_rows(self._base.numpy(), support, row[support])
            solved = solved.T  # (p, K), as below
        else:
            solved = torch.mm(self._base, G.T)  # (p, K)
        if self.n_pending:
            W = self._pending_rows[: self.n_pending]
            solved.addmm_(W.T, torch.mm(W, G.T), alpha=-1.0)
        return solved.T

    def quadratic_form(self, G: torch.Tensor, solved: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`g_k^\top A^{-1} g_k` for each row, shape (K,); ``solved`` = :meth:`solve` ``(G)`` if known.

        Without ``solved`` and with :attr:`reads_support_rows`: only the rows of
        :math:`B G^\top` on the union support :math:`S` of the rows of ``G`` are formed,
        :math:`g_k^\top B g_k = \sum_{i \in S} g_{ki} (B_{i,:} g_k)`, minus
        :math:`\lVert W g_k \rVert^2` for the pending rows.
        """
        G = _cast(G, self._base.dtype)
        if solved is None and self.reads_support_rows:
            q = torch.from_numpy(_kernels.support_quadratic_forms(self._base.numpy(), G.detach().contiguous().numpy()))
            if self.n_pending:
                q -= torch.mm(self._pending_rows[: self.n_pending], G.T).square_().sum(dim=0)
            return q
        if solved is None:
            solved = self.solve(G)
        return (G * solved).sum(dim=1)

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r"""Sherman--Morrison: :math:`A \leftarrow A + g g^\top`, in place on :math:`A^{-1}`.

        ``solved`` may pass :math:`A^{-1} g` if it is already known (saves one pass).
        """
        g = _cast(g, self._base.dtype)
        u = self.solve(g.unsqueeze(0))[0] if solved is None else solved
        q = float(torch.dot(g, u))
        if not q >= -0.5 or not math.isfinite(q):  # exactly, q >= 0: A^{-1} has lost definiteness
            _lost_definiteness(self, q)
            self.refresh()
            u = self.solve(g.unsqueeze(0))[0]
            q = float(torch.dot(g, u))
            if not q >= -0.5 or not math.isfinite(q):
                _lost_definiteness(self, q, refreshed=True)
        denominator = 1.0 + max(q, 0.0)
        if self.flush_every == 1:
            self._base.addr_(u, u, alpha=-1.0 / denominator)
        else:
            torch.mul(u, 1.0 / math.sqrt(denominator), out=self._pending_rows[self.n_pending])
            self.n_pending += 1
            if self.n_pending == self.flush_every:
                self.flush()
        self.n_updates += 1
        if self._A is not None:
            g64 = g.to(torch.float64)
            self._A.addr_(g64, g64)
            if self.n_updates % self.refresh_every == 0:
                self.refresh()

    def refresh(self) -> None:
        r"""Recompute :math:`A^{-1}` from the kept :math:`A` (Cholesky in float64), discarding drift.

        Needs ``refresh_every`` (otherwise :math:`A` is not kept). Costs
        :math:`O(p^3)`: about a minute at ``p = 9,601`` on two CPU cores.
        """
        if self._A is None:
            raise ValueError("refresh() needs A: create the FullConfidence with refresh_every=...")
        fresh = torch.cholesky_inverse(torch.linalg.cholesky(self._A))
        self._base.copy_((fresh + fresh.T) / 2)
        self.n_pending = 0
        self.n_refreshes += 1


class DiagonalConfidence(Stateful):
    r"""Diagonal approximation: keep :math:`\operatorname{diag}(A)` only.

    :math:`g^\top A^{-1} g \approx \sum_j g_j^2 / A_{jj}`: exact while :math:`A` is
    diagonal, otherwise it ignores the correlations between coordinates; memory and
    time O(p) instead of O(p^2).

    Parameters
    ----------
    dim : int
    lambda_ : float
    dtype : torch.dtype, default torch.float32
        A sum of squares loses nothing worth keeping in float32 (see the drift tests).
    device : torch.device or str, default "cpu"
    """

    def __init__(self, dim: int, lambda_: float, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        self.A_diag = torch.full((self.dim,), self.lambda_, dtype=dtype, device=device)
        self.n_updates = 0

    def prepare(self, G: torch.Tensor) -> None:
        """Nothing to share between the bonus and the update: returns ``None``."""
        return None

    def quadratic_form(self, G: torch.Tensor, solved: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\sum_j g_{kj}^2 / A_{jj}` for each row, shape (K,)."""
        G = _cast(G, self.A_diag.dtype)
        return (G * G) @ torch.reciprocal(self.A_diag)

    def update(self, g: torch.Tensor, solved: torch.Tensor | None = None) -> None:
        r""":math:`\operatorname{diag}(A) \mathrel{+}= g \odot g`."""
        g = _cast(g, self.A_diag.dtype)
        self.A_diag.addcmul_(g, g)
        self.n_updates += 1

    def inverse(self) -> torch.Tensor:
        r"""The approximation :math:`\operatorname{diag}(A)^{-1}` as a dense matrix (for tests and plots)."""
        return torch.diag(1.0 / self.A_diag)


CONFIDENCE_MODES = {"full": FullConfidence, "diagonal": DiagonalConfidence}


class DisjointRidge(Stateful):
    r"""One ridge regression per arm, batched: LinUCB's :math:`A_a^{-1}`, :math:`b_a`, :math:`\hat\theta_a`.

    Parameters
    ----------
    n_arms : int
    dim : int
        Length ``d`` of each arm's vector.
    lambda_ : float
        :math:`A_a = \lambda I + \sum_{s: a_s = a} x_s x_s^\top`.
    dtype, device
        Precision and place of the state (float64 by default).
    refresh_every : int, optional
        Also keep every :math:`A_a` (float64) and recompute :math:`A_a^{-1}` and
        :math:`\hat\theta_a` from it after every ``refresh_every`` updates of arm ``a``
        (see :class:`FullConfidence`; a float32 ridge drifts far within 100,000
        updates, appendix_reliability).

    Attributes
    ----------
    A_inv : torch.Tensor, shape (n_arms, d, d)
    b : torch.Tensor, shape (n_arms, d)
    theta : torch.Tensor, shape (n_arms, d)
        :math:`\hat\theta_a = A_a^{-1} b_a`, kept current after each update.
    """

    def __init__(self, n_arms: int, dim: int, lambda_: float, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu",
                 refresh_every: int | None = None) -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.dim = check_int("dim", dim, minimum=1)
        self.lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
        eye = torch.eye(self.dim, dtype=dtype, device=device) / self.lambda_
        self.A_inv = eye.expand(self.n_arms, self.dim, self.dim).clone()
        self.b = torch.zeros(self.n_arms, self.dim, dtype=dtype, device=device)
        self.theta = torch.zeros_like(self.b)
        self.counts = [0] * self.n_arms  # updates per arm
        # A_a themselves (float64), kept only when refresh_every is set (see refresh()).
        self.refresh_every = None if refresh_every is None else check_int("refresh_every", refresh_every, minimum=1)
        self._A = (torch.eye(self.dim, dtype=torch.float64, device=device).expand(self.n_arms, -1, -1) * self.lambda_
                   if self.refresh_every is not None else None)

    def estimate(self, X: torch.Tensor) -> torch.Tensor:
        r""":math:`x_a^\top \hat\theta_a` for row ``a`` of ``X`` (shape (n_arms, d)), shape (n_arms,)."""
        return torch.linalg.vecdot(_cast(X, self.theta.dtype), self.theta)

    def quadratic_form(self, X: torch.Tensor, outer: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`x_a^\top A_a^{-1} x_a` for every arm at once, shape (n_arms,).

        ``outer`` may pass the rows' outer products :math:`x_a x_a^\top` flattened, shape
        (n_arms, d * d), when they are known (LinUCB's feature matrices are fixed, so it
        makes them once per matrix): the form is then one dot product per arm,
        :math:`\langle A_a^{-1}, x_a x_a^\top\rangle`. Without them it is two broadcast
        products and sums. Either way about twice as fast as ``einsum`` or a batched
        ``bmm`` of 1 x d by d x d matrices at ``d = 9``, whose per-call overhead
        dominates (appendix).
        """
        if outer is not None:
            return torch.linalg.vecdot(self.A_inv.reshape(self.n_arms, -1), _cast(outer, self.A_inv.dtype))
        X = _cast(X, self.A_inv.dtype)
        return torch.linalg.vecdot((self.A_inv * X.unsqueeze(2)).sum(dim=1), X)

    def update(self, arm: int, x: torch.Tensor, reward: float) -> None:
        """Add ``(x, reward)`` to arm ``arm``'s regression (Sherman--Morrison on its inverse)."""
        x = _cast(x, self.A_inv.dtype)
        A_inv = self.A_inv[arm]
        u = torch.mv(A_inv, x)
        q = float(torch.dot(x, u))
        if not q >= -0.5 or not math.isfinite(q):  # exactly, q >= 0 (see FullConfidence)
            _lost_definiteness(self, q, arm)
            self.refresh(arm)
            u = torch.mv(A_inv, x)
            q = float(torch.dot(x, u))
            if not q >= -0.5 or not math.isfinite(q):
                _lost_definiteness(self, q, arm, refreshed=True)
        A_inv.addr_(u, u, alpha=-1.0 / (1.0 + max(q, 0.0)))
        b = self.b[arm]
        b.add_(x, alpha=reward)
        torch.mv(A_inv, b, out=self.theta[arm])
        self.counts[arm] += 1
        if self._A is not None:
            x64 = x.to(torch.float64)
            self._A[arm].addr_(x64, x64)
            if self.counts[arm] % self.refresh_every == 0:
                self.refresh(arm)

    def refresh(self, arm: int | None = None) -> None:
        r"""Recompute :math:`A_a^{-1}` and :math:`\hat\theta_a` from the kept :math:`A_a` (one arm, or all)."""
        if self._A is None:
            raise ValueError("refresh() needs A: create the DisjointRidge with refresh_every=...")
        arms = slice(None) if arm is None else slice(arm, arm + 1)
        fresh = torch.cholesky_inverse(torch.linalg.cholesky(self._A[arms]))
        fresh = ((fresh + fresh.transpose(1, 2)) / 2).to(self.A_inv.dtype)
        self.A_inv[arms] = fresh
        self.theta[arms] = (fresh @ self.b[arms].unsqueeze(2)).squeeze(2)
