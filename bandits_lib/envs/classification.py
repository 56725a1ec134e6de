r"""Classification as a contextual bandit, on a real data set shipped with scikit-learn.

The classic recipe (used by the NeuralUCB and NeuralTS papers): each arm is a class; at
step ``t`` the agent sees one example :math:`x_t \in \mathbb R^d` and guesses its class;
the reward is 1 for the right class and 0 otherwise, and only the guessed class's
reward is revealed. Arm ``a``'s feature vector is :math:`x_t` placed in block ``a`` of a
:math:`Kd`-vector, zeros elsewhere:

.. math:: x_{t,a} = e_a \otimes x_t = (0, \dots, 0, \underbrace{x_t}_{\text{block } a}, 0, \dots, 0)
          \in \mathbb R^{Kd}.

The oracle knows the label, so the regret of a run is its number of mistakes.

:func:`load_digits_contexts` reads scikit-learn's ``load_digits`` (1,797 handwritten
digits, 8x8 pixels, 10 classes; the data ship inside the package, no download).

Taught in: chapters/04_3_real_data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import check_int


def load_digits_contexts(pool: int = 2, centre: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The digits data set as unit-length context vectors.

    Parameters
    ----------
    pool : {1, 2, 4, 8}, default 2
        Average the 8x8 image over ``pool x pool`` squares (``pool=2``: 4x4 = 16 numbers
        per image; ``pool=1`` keeps all 64 pixels). Pooling is label-free and looks at one
        image at a time.
    centre : bool, default True
        Subtract the mean (pooled) image of the data set before scaling. Pixels are
        non-negative; without centring every context points into the same orthant and
        ReLU units of the neural agents die easily (Chapter 4, section 4.3). The mean
        image uses no labels, but it does look at the whole data set once.

    Returns
    -------
    X : numpy.ndarray, shape (1797, (8 // pool) ** 2), float64
        Each row scaled to unit Euclidean length.
    y : numpy.ndarray, shape (1797,), int64
        Digit 0-9.

    Examples
    --------
    >>> X, y = load_digits_contexts(pool=2)
    >>> X.shape, int(y.max()) + 1
    ((1797, 16), 10)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # an optional dependency: pip install "bandits_lib[data]"
        raise ImportError("load_digits_contexts reads scikit-learn's bundled digits: install scikit-learn "
                          '(pip install "bandits_lib[data]")') from err

    pool = check_int("pool", pool, minimum=1)
    if 8 % pool != 0:
        raise ValueError(f"pool must divide 8 (1, 2, 4 or 8), got {pool}")
    digits = load_digits()
    side = 8 // pool
    images = digits.images.reshape(-1, side, pool, side, pool).mean(axis=(2, 4)).reshape(-1, side * side)
    if centre:
        images = images - images.mean(axis=0)
    norms = np.linalg.norm(images, axis=1, keepdims=True)
    return images / np.where(norms > 0, norms, 1.0), digits.target.astype(np.int64)


class ClassificationBandit:
    """A labelled data set played as a bandit, one arm per class (an :class:`~bandits_lib.envs.Environment`).

    Parameters
    ----------
    X : array of shape (n, d)
        Contexts (finite).
    y : array of int, shape (n,)
        Labels in ``0 .. n_classes - 1``.
    seed : int, default 0
        Seed of the order in which the examples arrive (a permutation).
    n_steps : int, optional
        Horizon; default one pass over the data (each example once).
    n_classes : int, optional
        Number of arms; default ``max(y) + 1``.

    Attributes
    ----------
    n_arms : int
        ``K``, the number of classes.
    feature_dim : int
        ``K * d``.
    order : numpy.ndarray, shape (n_steps,)
        Index of the example shown at each step.
    labels : numpy.ndarray, shape (n_steps,)
        Its label (the right arm).

    Examples
    --------
    >>> env = ClassificationBandit(np.eye(3), np.array([0, 1, 2]), seed=0)
    >>> X = env.context(0)
    >>> X.shape, env.reward(0, int(env.labels[0])), env.oracle_reward(0)
    (torch.Size([3, 9]), 1.0, 1.0)
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, seed: int = 0, n_steps: int | None = None,
                 n_classes: int | None = None) -> None:
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must be 2-D with shape (n_examples, d), got shape {X.shape}")
        if not np.issubdtype(X.dtype, np.number) or not np.isfinite(X).all():
            raise ValueError("X must contain only finite numbers")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},) (one label per row of X), got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
            raise ValueError("y must hold non-negative integer class labels")
        self.seed = check_int("seed", seed, minimum=0)
        n_classes = int(y.max()) + 1 if n_classes is None else check_int("n_classes", n_classes, minimum=2)
        if y.max() >= n_classes:
            raise ValueError(f"y has label {int(y.max())}, outside 0..{n_classes - 1} (n_classes={n_classes})")
        n = X.shape[0]
        n_steps = n if n_steps is None else check_int("n_steps", n_steps, minimum=1)
        if n_steps > n:
            raise ValueError(f"n_steps must be <= the number of examples ({n}), got {n_steps}")
        self.n_arms = n_classes
        self.d = X.shape[1]
        self.feature_dim = n_classes * self.d
        self.order = np.random.default_rng(self.seed).permutation(n)[:n_steps]
        self.labels = y[self.order]
        self._X = torch.as_tensor(X[self.order], dtype=torch.float32)
        self._eye = torch.eye(n_classes)

    @classmethod
    def digits(cls, seed: int = 0, pool: int = 2, n_steps: int | None = None, centre: bool = True
               ) -> ClassificationBandit:
        """The scikit-learn digits (:func:`load_digits_contexts`) in the order of ``seed``."""
        X, y = load_digits_contexts(pool, centre)
        return cls(X, y, seed=seed, n_steps=n_steps)

    def __len__(self) -> int:
        return len(self.order)

    def context(self, t: int) -> torch.Tensor:
        """Block features :math:`e_a \\otimes x_t` of every arm, shape (K, K*d)."""
        return torch.kron(self._eye, self._X[t].unsqueeze(0))

    def info(self, t: int) -> dict[str, Any]:
        """``{"label", "expected_rewards"}``: the right class, and the one-hot of it, shape (K,)."""
        label = int(self.labels[t])
        return {"label": label, "expected_rewards": np.eye(self.n_arms)[label]}

    def reward(self, t: int, arm: int) -> float:
        """1.0 if ``arm`` is the label of step ``t``'s example, else 0.0."""
        return float(arm == self.labels[t])

    expected_reward = reward

    def oracle_reward(self, t: int) -> float:
        """1.0: the right class is always available."""
        return 1.0


__all__ = ["ClassificationBandit", "load_digits_contexts"]
