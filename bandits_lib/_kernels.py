r"""Two compiled CPU loops for :class:`~bandits_lib.exploration.FullConfidence` (numba).

A large :math:`A^{-1}` (737 MB at ``p = 9,601``) is read from memory at every step, and
the BLAS call that would do it, a ``p x p`` matrix times a handful of columns, runs far
below both the memory bandwidth and the arithmetic peak (the performance appendix
measures it). The gradients of a ReLU network on one-hot inputs are also mostly exact
zeros. The two loops below read only the rows of the (symmetric) matrix that the nonzero
coordinates need, each row once, from start to end:

* :func:`support_quadratic_forms`: :math:`g_k^\top B g_k = \sum_{i:\,g_{ki} \ne 0}
  g_{ki}\,(g_{ki} B_{ii} + 2\sum_{j > i} B_{ij} g_{kj})` for each row of ``G``: a row of ``B``
  off the support of every ``g_k`` is never read, and of the others only the part right of
  the diagonal (the upper triangle);
* :func:`combine_rows`: ``out = sum_s coefficients[s] * B[rows[s], :]``, which is
  :math:`B g` when ``rows`` is the support of ``g`` and ``B`` is symmetric.

Both are tested against ``torch`` on random matrices (tests/test_fast_paths.py). Without
numba (``available()`` is ``False``) :class:`FullConfidence` uses ``torch`` alone.
Floating-point flags: reassociation and fused multiply-add only (NaN and inf propagate).
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _compiled():
    """The numba functions, compiled on first use (float64 at once, other types when first
    called); ``None`` when numba is not installed."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is in requirements.txt
        return None
    flags = {"reassoc", "contract"}

    @numba.njit(fastmath=flags, inline="always")
    def dot(a, b):  # pragma: no cover - compiled
        acc = 0.0
        for j in range(a.shape[0]):  # a separate loop over two slices: vectorised, four accumulators
            acc += a[j] * b[j]
        return acc

    @numba.njit(fastmath=flags, nogil=True)
    def support_quadratic_forms(B, G, out):  # pragma: no cover - compiled
        K, p = G.shape
        for k in range(K):
            out[k] = 0.0
        for i in range(p):  # rows of B in memory order; a row off every support is never read
            row = B[i]
            for k in range(K):
                g_ki = G[k, i]
                if g_ki != 0.0:  # g^T B g = sum_i g_i (g_i B_ii + 2 sum_{j > i} B_ij g_j)
                    out[k] += g_ki * (g_ki * row[i] + 2.0 * dot(row[i + 1:], G[k, i + 1:]))

    @numba.njit(fastmath=flags, nogil=True)
    def combine_rows(B, rows, coefficients, out):  # pragma: no cover - compiled
        p, n = B.shape[1], rows.shape[0]
        for j in range(p):
            out[j] = 0.0
        s = 0
        while s + 4 <= n:  # four rows per sweep of `out`
            b0, b1, b2, b3 = B[rows[s]], B[rows[s + 1]], B[rows[s + 2]], B[rows[s + 3]]
            c0, c1, c2, c3 = coefficients[s], coefficients[s + 1], coefficients[s + 2], coefficients[s + 3]
            for j in range(p):
                out[j] += c0 * b0[j] + c1 * b1[j] + c2 * b2[j] + c3 * b3[j]
            s += 4
        for r in range(s, n):
            b, c = B[rows[r]], coefficients[r]
            for j in range(p):
                out[j] += c * b[j]

    # Compile for float64 now (about two seconds), so that no timed step pays for it.
    B, rows = np.eye(2), np.arange(2)
    support_quadratic_forms(B, B, np.empty(2))
    combine_rows(B, rows, B[0], np.empty(2))
    return support_quadratic_forms, combine_rows


def available() -> bool:
    """Whether the compiled loops can be used (numba importable)."""
    return _compiled() is not None


def support_quadratic_forms(B: np.ndarray, G: np.ndarray) -> np.ndarray:
    r""":math:`g_k^\top B g_k` for the rows of ``G`` (K, p), shape (K,), summed over the support only."""
    out = np.empty(G.shape[0], dtype=B.dtype)
    _compiled()[0](B, G, out)
    return out


def combine_rows(B: np.ndarray, rows: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``coefficients @ B[rows]``, shape (p,); ``rows`` int64 (n,), ``coefficients`` (n,)."""
    out = np.empty(B.shape[1], dtype=B.dtype)
    _compiled()[1](B, rows, coefficients, out)
    return out
