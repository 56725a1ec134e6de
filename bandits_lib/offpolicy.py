r"""Off-policy evaluation: what would a policy have earned on traffic logged by another?

A log holds, for each event :math:`i = 1..n`, a context :math:`x_i`, the action
:math:`a_i` the *behaviour* (logging) policy :math:`\pi_b` chose, the reward :math:`r_i`
and the propensity :math:`p_i = \pi_b(a_i \mid x_i)`. The value of a *target* policy
:math:`\pi` is :math:`V(\pi) = \E_x \sum_a \pi(a \mid x)\, \mu(x, a)` with
:math:`\mu(x, a) = \E[r \mid x, a]`. The estimators, each returning an
:class:`OffPolicyEstimate` (value, confidence interval, effective sample size):

* :func:`ips` -- inverse propensity scoring, :math:`\frac1n\sum_i w_i r_i` with
  :math:`w_i = \pi(a_i \mid x_i) / p_i`; unbiased when every action :math:`\pi` can take
  has :math:`p > 0`;
* :func:`snips` -- self-normalised IPS, :math:`\sum_i w_i r_i / \sum_i w_i`; slightly
  biased, consistent, usually far less variable;
* :func:`doubly_robust` -- a reward model :math:`\hat\mu` plus an IPS correction of its
  error; unbiased like IPS whatever :math:`\hat\mu` is, and less variable the better
  :math:`\hat\mu` is. :func:`cross_fit_ridge` fits :math:`\hat\mu` on other folds of the log;
* :func:`replay` -- the replay method of Li, Chu, Langford and Wang (2011) for a
  *learning* agent on a uniformly random log: the agent sees every event, but an event
  counts, and the agent learns from it, only when its choice equals the logged action;
* :func:`on_policy` -- the log's own mean reward, the value of the behaviour policy.

Intervals come from the per-event terms whose mean is the estimate (t intervals, with the
linearised terms for SNIPS); for replay with 0/1 rewards the Wilson score interval over the
accepted events. :func:`replay_difference` compares two agents replayed on the same log,
event by event.

Every function takes plain arrays: ``actions`` (n,), ``rewards`` (n,), ``propensities``
(n,), ``target_probabilities`` :math:`\pi(a \mid x_i)` of shape (n, n_actions) and, for
DR, ``reward_predictions`` :math:`\hat\mu(x_i, a)` of shape (n, n_actions).

Taught in: chapters/04_5_logged_data.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch

from ._validation import check_float, check_int
from .envs.simulator import PERSONAS, ZooplusSimulator


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class OffPolicyEstimate:
    r"""An estimate of a policy's value with its uncertainty.

    Attributes
    ----------
    estimator : str
        ``"IPS"``, ``"SNIPS"``, ``"DR"``, ``"replay"``, ``"on-policy"`` or ``"difference"``.
    value : float
        The estimate (NaN when no event carries information, e.g. replay with no accepted event).
    std_error : float
        Its standard error (NaN when undefined).
    lower, upper : float
        The confidence interval.
    confidence : float
        Its nominal coverage, e.g. 0.95.
    n : int
        Events used (for replay: accepted events).
    ess : float
        Effective sample size :math:`(\sum_i w_i)^2 / \sum_i w_i^2` of the importance
        weights (``n`` for on-policy and replay): how many on-policy events the estimate
        is worth.
    interval : str
        How the interval was computed: ``"t"`` or ``"wilson"``.
    terms : numpy.ndarray, shape (n_terms,)
        The per-event terms behind the interval (whose mean is ``value``, for SNIPS the
        linearised terms around it); not shown in the repr.
    """

    estimator: str
    value: float
    std_error: float
    lower: float
    upper: float
    confidence: float
    n: int
    ess: float
    interval: str = "t"
    terms: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.upper - self.lower) / 2

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields, for a table row."""
        return {"estimator": self.estimator, "value": self.value, "std_error": self.std_error, "lower": self.lower,
                "upper": self.upper, "n": self.n, "ess": self.ess, "interval": self.interval}


# ---------------------------------------------------------------------------- intervals
def t_quantile(probability: float, df: float) -> float:
    r"""Quantile of Student's t distribution with ``df`` degrees of freedom.

    Inverts :math:`F(t) = 1 - \tfrac12 I_{\nu/(\nu+t^2)}(\nu/2, 1/2)` (regularised
    incomplete beta function, by its continued fraction) by bisection; ``df = inf`` gives
    the normal quantile.

    Examples
    --------
    >>> round(t_quantile(0.975, 10), 4), round(t_quantile(0.975, math.inf), 4)
    (2.2281, 1.96)
    """
    probability = check_float("probability", probability, strictly_positive=True, maximum=1.0)
    if probability >= 1.0:
        raise ValueError(f"probability must be < 1, got {probability}")
    if not (isinstance(df, numbers.Real) and df > 0):
        raise ValueError(f"df must be > 0, got {df!r}")
    return _t_quantile(probability, float(df))


@functools.lru_cache(maxsize=256)
def _t_quantile(probability: float, df: float) -> float:
    if math.isinf(df) or df > 1e7:
        return NormalDist().inv_cdf(probability)
    if probability < 0.5:
        return -_t_quantile(1.0 - probability, df)
    if probability == 0.5:
        return 0.0
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < probability:
        low, high = high, 2 * high
    for _ in range(200):
        middle = (low + high) / 2
        if _t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def _t_cdf(t: float, df: float) -> float:
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function :math:`I_x(a, b)` (continued fraction, modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast below this point; use the symmetry above it
        return 1.0 - _betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction / a


def t_interval(terms: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float]:
    r"""Mean of ``terms`` and its t interval.

    .. math:: \bar z \pm t_{n-1,\,(1+c)/2}\; s / \sqrt n

    Parameters
    ----------
    terms : numpy.ndarray, shape (n,)
    confidence : float, default 0.95

    Returns
    -------
    mean, std_error, lower, upper : float
        NaN standard error and interval for fewer than two terms; NaN everything for none.
    """
    terms = np.asarray(terms, dtype=np.float64)
    n = len(terms)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(terms.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    se = float(terms.std(ddof=1) / math.sqrt(n))
    half = t_quantile((1 + confidence) / 2, n - 1) * se
    return mean, se, mean - half, mean + half


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    r"""Wilson score interval for a binomial proportion: ``successes`` out of ``n``.

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n}

    Unlike the normal interval it is not empty when :math:`\hat p` is 0 or 1, which
    matters for click rates with a handful of clicks. ``n = 0`` gives (0, 1).

    Examples
    --------
    >>> lo, hi = wilson_interval(0, 125)
    >>> lo, round(hi, 4)
    (0.0, 0.0298)
    """
    n = check_int("n", n, minimum=0)
    successes = check_float("successes", successes, minimum=0.0, maximum=float(max(n, 0)))
    return _wilson_float(successes, n, _check_confidence(confidence))


def _wilson_float(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """:func:`wilson_interval` for a real-valued ``n`` (an effective sample size), unchecked."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lower = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact ends when no or every trial succeeds
    upper = 1.0 if successes >= n else min(1.0, centre + half)
    return lower, upper


def effective_sample_size(weights: np.ndarray) -> float:
    r"""Kish's effective sample size :math:`(\sum_i w_i)^2 / \sum_i w_i^2` of importance weights.

    Equal weights give ``n``; a deterministic target policy under uniform logging over
    ``K`` actions gives the number of events whose logged action it would have taken
    (about ``n / K``). 0 when every weight is 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    total_sq = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / total_sq if total_sq > 0 else 0.0


# ---------------------------------------------------------------------------- checks
def _check_confidence(confidence: object) -> float:
    confidence = check_float("confidence", confidence, strictly_positive=True, maximum=1.0)
    if confidence >= 1.0:
        raise ValueError(f"confidence must be < 1, got {confidence}")
    return confidence


def _as_array(name: str, value: object, ndim: int) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (pd.Series, pd.DataFrame)):
        value = value.to_numpy()
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim != ndim:
        shape = "(n,)" if ndim == 1 else "(n, n_actions)"
        raise ValueError(f"{name} must have shape {shape}, got shape {array.shape}")
    return array


def _check_rewards(rewards: object) -> np.ndarray:
    r = _as_array("rewards", rewards, 1).astype(np.float64)
    if len(r) == 0:
        raise ValueError("rewards must hold at least one logged event, got an empty array")
    if not np.isfinite(r).all():
        raise ValueError("rewards must be finite (no NaN or inf)")
    return r


def _check_actions(actions: object, n: int, n_actions: int | None) -> np.ndarray:
    a = _as_array("actions", actions, 1)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"actions must be integer action indices, got dtype {a.dtype}")
    if len(a) != n:
        raise ValueError(f"actions must have one entry per event ({n}), got {len(a)}")
    if len(a) and a.min() < 0:
        raise ValueError(f"actions must be >= 0, got {a.min()}")
    if n_actions is not None and len(a) and a.max() >= n_actions:
        raise ValueError(f"actions must be < n_actions = {n_actions} (columns of target_probabilities), got {a.max()}")
    return a.astype(np.int64)


def _check_propensities(propensities: object, n: int) -> np.ndarray:
    p = _as_array("propensities", propensities, 1).astype(np.float64)
    if len(p) != n:
        raise ValueError(f"propensities must have one entry per event ({n}), got {len(p)}")
    bad = ~((p > 0) & (p <= 1))
    if bad.any():
        raise ValueError(f"propensities must lie in (0, 1] (the logging policy's probability of the logged "
                         f"action), got {p[bad][0]!r} at event {int(np.flatnonzero(bad)[0])}")
    return p


def _check_target(target_probabilities: object, n: int) -> np.ndarray:
    pi = _as_array("target_probabilities", target_probabilities, 2).astype(np.float64)
    if pi.shape[0] != n:
        raise ValueError(f"target_probabilities must have one row per event ({n}), got shape {pi.shape}")
    if pi.shape[1] < 1:
        raise ValueError("target_probabilities must have at least one column (one per action)")
    if not np.isfinite(pi).all() or (pi < 0).any():
        raise ValueError("target_probabilities must be finite and non-negative")
    sums = pi.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-6
    if bad.any():
        raise ValueError(f"each row of target_probabilities must sum to 1 (a distribution over actions), row "
                         f"{int(np.flatnonzero(bad)[0])} sums to {sums[bad][0]:.6g}")
    return pi


def _check_predictions(reward_predictions: object, shape: tuple[int, int]) -> np.ndarray:
    q = _as_array("reward_predictions", reward_predictions, 2).astype(np.float64)
    if q.shape != shape:
        raise ValueError(f"reward_predictions must have shape {shape} (events, actions) like target_probabilities, "
                         f"got {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("reward_predictions must be finite (no NaN or inf)")
    return q


def _checked(rewards, actions, propensities, target_probabilities, confidence):
    r = _check_rewards(rewards)
    n = len(r)
    pi = _check_target(target_probabilities, n)
    a = _check_actions(actions, n, pi.shape[1])
    p = _check_propensities(propensities, n)
    return r, a, p, pi, _check_confidence(confidence)


# ---------------------------------------------------------------------------- estimators
def importance_weights(actions: np.ndarray, propensities: np.ndarray, target_probabilities: np.ndarray) -> np.ndarray:
    r"""The weights :math:`w_i = \pi(a_i \mid x_i) / \pi_b(a_i \mid x_i)`, shape (n,).

    Parameters
    ----------
    actions : numpy.ndarray of int, shape (n,)
    propensities : numpy.ndarray, shape (n,)
        :math:`\pi_b(a_i \mid x_i)`, in (0, 1].
    target_probabilities : numpy.ndarray, shape (n, n_actions)
        :math:`\pi(\cdot \mid x_i)` for every event; rows sum to 1.
    """
    pi = _check_target(target_probabilities, len(np.atleast_1d(np.asarray(actions))))
    n = pi.shape[0]
    a = _check_actions(actions, n, pi.shape[1])
    p = _check_propensities(propensities, n)
    return pi[np.arange(n), a] / p


def ips(rewards: np.ndarray, actions: np.ndarray, propensities: np.ndarray, target_probabilities: np.ndarray,
        confidence: float = 0.95) -> OffPolicyEstimate:
    r"""Inverse propensity scoring (Horvitz--Thompson) estimate of :math:`V(\pi)`.

    .. math:: \hat V_\text{IPS} = \frac1n \sum_{i=1}^n w_i r_i, \qquad w_i = \frac{\pi(a_i \mid x_i)}{p_i}

    Parameters
    ----------
    rewards : numpy.ndarray, shape (n,)
    actions : numpy.ndarray of int, shape (n,)
    propensities : numpy.ndarray, shape (n,)
        :math:`p_i = \pi_b(a_i \mid x_i)`, in (0, 1].
    target_probabilities : numpy.ndarray, shape (n, n_actions)
        :math:`\pi(\cdot \mid x_i)`; rows sum to 1.
    confidence : float, default 0.95

    Returns
    -------
    OffPolicyEstimate
        t interval over the terms :math:`w_i r_i`; ``ess`` of the weights.

    Examples
    --------
    >>> r, a, p = np.array([1.0, 0.0]), np.array([0, 1]), np.array([0.5, 0.5])
    >>> ips(r, a, p, np.array([[1.0, 0.0], [1.0, 0.0]])).value  # 2 * 1 / 2
    1.0
    """
    r, a, p, pi, confidence = _checked(rewards, actions, propensities, target_probabilities, confidence)
    w = pi[np.arange(len(r)), a] / p
    terms = w * r
    value, se, lower, upper = t_interval(terms, confidence)
    return OffPolicyEstimate("IPS", value, se, lower, upper, confidence, len(r), effective_sample_size(w), "t", terms)


def snips(rewards: np.ndarray, actions: np.ndarray, propensities: np.ndarray, target_probabilities: np.ndarray,
          confidence: float = 0.95, interval: str = "t") -> OffPolicyEstimate:
    r"""Self-normalised IPS estimate of :math:`V(\pi)`.

    .. math:: \hat V_\text{SNIPS} = \frac{\sum_i w_i r_i}{\sum_i w_i}

    A weighted mean of the rewards: it stays within their range, and multiplying every
    weight by a constant changes nothing. Its standard error is that of the linearised
    terms :math:`z_i = w_i (r_i - \hat V) / \bar w` (delta method). NaN when every weight
    is 0 (the log never took an action :math:`\pi` would take).

    Parameters
    ----------
    rewards, actions, propensities, target_probabilities, confidence
        As for :func:`ips`.
    interval : {"t", "wilson"}, default "t"
        ``"t"``: the t interval of the linearised terms. ``"wilson"`` (0/1 rewards only):
        the Wilson interval of a proportion :math:`\hat V` out of ESS trials. For a
        deterministic target policy under uniform logging this is exact: SNIPS is then the
        click rate of the ESS events whose logged action the policy would take. Otherwise
        it is Kish's effective-sample-size approximation. Unlike the t interval, it is not
        empty when no weighted event has a click.
    """
    r, a, p, pi, confidence = _checked(rewards, actions, propensities, target_probabilities, confidence)
    if interval not in ("t", "wilson"):
        raise ValueError(f"interval must be 't' or 'wilson', got {interval!r}")
    if interval == "wilson" and not np.isin(r, (0.0, 1.0)).all():
        raise ValueError("interval='wilson' needs rewards that are all 0 or 1")
    w = pi[np.arange(len(r)), a] / p
    ess = effective_sample_size(w)
    if w.sum() <= 0:
        return OffPolicyEstimate("SNIPS", math.nan, math.nan, math.nan, math.nan, confidence, len(r), ess, interval,
                                 np.zeros(len(r)))
    value = float(np.sum(w * r) / np.sum(w))
    terms = w * (r - value) / w.mean()
    _, se, _, _ = t_interval(terms, confidence)
    if interval == "wilson":
        lower, upper = _wilson_float(value * ess, ess, confidence)
    else:
        half = t_quantile((1 + confidence) / 2, len(r) - 1) * se if len(r) > 1 else math.nan
        lower, upper = value - half, value + half
    return OffPolicyEstimate("SNIPS", value, se, lower, upper, confidence, len(r), ess, interval, terms)


def doubly_robust(rewards: np.ndarray, actions: np.ndarray, propensities: np.ndarray,
                  target_probabilities: np.ndarray, reward_predictions: np.ndarray,
                  confidence: float = 0.95) -> OffPolicyEstimate:
    r"""Doubly robust estimate of :math:`V(\pi)` (Dudík, Langford and Li, 2011).

    .. math:: \hat V_\text{DR} = \frac1n \sum_i \Big[\sum_a \pi(a \mid x_i)\,\hat\mu(x_i, a)
              + w_i \big(r_i - \hat\mu(x_i, a_i)\big)\Big]

    The first term is the reward model's opinion of :math:`\pi`; the second corrects it
    with the model's error on the logged action, importance weighted. For a fixed
    :math:`\hat\mu` (fitted on other data, see :func:`cross_fit_ridge`) the correction has
    mean :math:`V(\pi) - \E\sum_a\pi\hat\mu`: the estimate is unbiased whatever the
    model, and its variance shrinks as :math:`\hat\mu` approaches :math:`\mu`.

    Parameters
    ----------
    rewards, actions, propensities, target_probabilities, confidence
        As for :func:`ips`.
    reward_predictions : numpy.ndarray, shape (n, n_actions)
        :math:`\hat\mu(x_i, a)` for every event and action.
    """
    r, a, p, pi, confidence = _checked(rewards, actions, propensities, target_probabilities, confidence)
    q = _check_predictions(reward_predictions, pi.shape)
    rows = np.arange(len(r))
    w = pi[rows, a] / p
    terms = np.sum(pi * q, axis=1) + w * (r - q[rows, a])
    value, se, lower, upper = t_interval(terms, confidence)
    return OffPolicyEstimate("DR", value, se, lower, upper, confidence, len(r), effective_sample_size(w), "t", terms)


def on_policy(rewards: np.ndarray, confidence: float = 0.95) -> OffPolicyEstimate:
    """The mean logged reward: the behaviour policy's own value, with its t interval."""
    r = _check_rewards(rewards)
    confidence = _check_confidence(confidence)
    value, se, lower, upper = t_interval(r, confidence)
    return OffPolicyEstimate("on-policy", value, se, lower, upper, confidence, len(r), float(len(r)), "t", r)


def evaluate_policy(rewards: np.ndarray, actions: np.ndarray, propensities: np.ndarray,
                    target_probabilities: np.ndarray, reward_predictions: np.ndarray | None = None,
                    confidence: float = 0.95) -> pd.DataFrame:
    """IPS, SNIPS and (with ``reward_predictions``) DR of one target policy, one row each.

    Returns
    -------
    pandas.DataFrame
        Index ``estimator``; columns ``value``, ``std_error``, ``lower``, ``upper``, ``n``,
        ``ess``, ``interval`` (see :class:`OffPolicyEstimate`).
    """
    estimates = [ips(rewards, actions, propensities, target_probabilities, confidence),
                 snips(rewards, actions, propensities, target_probabilities, confidence)]
    if reward_predictions is not None:
        estimates.append(doubly_robust(rewards, actions, propensities, target_probabilities, reward_predictions,
                                       confidence))
    return pd.DataFrame([e.as_dict() for e in estimates]).set_index("estimator")


# ---------------------------------------------------------------------------- policies
def uniform_policy(n_events: int, n_actions: int) -> np.ndarray:
    """Target probabilities of the uniformly random policy, shape (n_events, n_actions)."""
    n_events = check_int("n_events", n_events, minimum=1)
    n_actions = check_int("n_actions", n_actions, minimum=1)
    return np.full((n_events, n_actions), 1.0 / n_actions)


def deterministic_policy(chosen: np.ndarray, n_actions: int) -> np.ndarray:
    """Target probabilities of a policy that takes action ``chosen[i]`` at event ``i``, shape (n, n_actions)."""
    n_actions = check_int("n_actions", n_actions, minimum=1)
    chosen = _check_actions(chosen, len(np.atleast_1d(np.asarray(chosen))), n_actions)
    table = np.zeros((len(chosen), n_actions))
    table[np.arange(len(chosen)), chosen] = 1.0
    return table


# ---------------------------------------------------------------------------- reward model
ArmFeatures = Callable[[np.ndarray], "torch.Tensor | np.ndarray"]


def _features_of(arm_features: ArmFeatures | np.ndarray | torch.Tensor, index: np.ndarray) -> np.ndarray:
    if callable(arm_features):
        X = arm_features(index)
    else:
        X = arm_features[index]
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or X.shape[0] != len(index):
        raise ValueError(f"arm_features must give an array of shape (m, n_actions, d) for m events, got {X.shape}")
    return X


def cross_fit_ridge(arm_features: ArmFeatures | np.ndarray | torch.Tensor, actions: np.ndarray, rewards: np.ndarray,
                    n_folds: int = 2, lambda_: float = 1.0, seed: int = 0, chunk: int = 1024) -> np.ndarray:
    r"""Cross-fitted ridge regression of the reward on the logged arm's features.

    The events are split at random into ``n_folds`` folds. For each fold,
    :math:`\hat\theta = (\lambda I + \sum_{j \notin \text{fold}} x_{j,a_j} x_{j,a_j}^\top)^{-1}
    \sum_{j \notin \text{fold}} r_j x_{j,a_j}` is fitted on the other folds and predicts
    :math:`\hat\mu(x_i, a) = x_{i,a}^\top\hat\theta` for every event of the fold and every
    action. No event's prediction used its own reward, so :func:`doubly_robust` keeps its
    unbiasedness argument (the model is independent of the event it corrects).

    Parameters
    ----------
    arm_features : callable or array
        ``arm_features(index)`` returns the per-arm features of the events ``index``
        (shape (m,)) as an array of shape (m, n_actions, d), e.g.
        :meth:`OpenBanditData.arm_features`; or such an array for all events, shape
        (n, n_actions, d).
    actions : numpy.ndarray of int, shape (n,)
    rewards : numpy.ndarray, shape (n,)
    n_folds : int, default 2
        At least 2.
    lambda_ : float, default 1.0
        Ridge :math:`\lambda > 0`.
    seed : int, default 0
        Seed of the random split.
    chunk : int, default 1024
        Events whose features are built at once (bounds the memory).

    Returns
    -------
    numpy.ndarray, shape (n, n_actions)
        :math:`\hat\mu(x_i, a)`, float64.
    """
    r = _check_rewards(rewards)
    n = len(r)
    a = _check_actions(actions, n, None)
    n_folds = check_int("n_folds", n_folds, minimum=2)
    if n_folds > n:
        raise ValueError(f"n_folds must be <= the number of events ({n}), got {n_folds}")
    lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
    seed = check_int("seed", seed, minimum=0)
    chunk = check_int("chunk", chunk, minimum=1)
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % n_folds
    A_parts, b_parts = _ridge_statistics(arm_features, a, r, fold, n_folds, chunk)
    d = A_parts.shape[1]
    thetas = np.stack([np.linalg.solve(lambda_ * np.eye(d) + A_parts.sum(0) - A_parts[f], b_parts.sum(0) - b_parts[f])
                       for f in range(n_folds)])
    return _ridge_predictions(arm_features, thetas, fold, chunk)


def fit_ridge(arm_features: ArmFeatures | np.ndarray | torch.Tensor, actions: np.ndarray, rewards: np.ndarray,
              lambda_: float = 1.0, chunk: int = 1024) -> np.ndarray:
    r"""Ridge regression of the reward on the logged arm's features, on every event.

    .. math:: \hat\theta = \Big(\lambda I + \sum_i x_{i,a_i} x_{i,a_i}^\top\Big)^{-1} \sum_i r_i\, x_{i,a_i}

    Arguments as for :func:`cross_fit_ridge`. Returns :math:`\hat\theta`, shape (d,);
    :func:`predict_ridge` scores every arm with it.
    """
    r = _check_rewards(rewards)
    a = _check_actions(actions, len(r), None)
    lambda_ = check_float("lambda_", lambda_, strictly_positive=True)
    chunk = check_int("chunk", chunk, minimum=1)
    A, b = _ridge_statistics(arm_features, a, r, np.zeros(len(r), dtype=np.int64), 1, chunk)
    return np.linalg.solve(lambda_ * np.eye(A.shape[1]) + A[0], b[0])


def predict_ridge(arm_features: ArmFeatures | np.ndarray | torch.Tensor, theta: np.ndarray, n_events: int,
                  chunk: int = 1024) -> np.ndarray:
    r""":math:`x_{i,a}^\top\hat\theta` for events ``0..n_events-1`` and every arm, shape (n_events, n_actions)."""
    n_events = check_int("n_events", n_events, minimum=1)
    theta = _as_array("theta", theta, 1).astype(np.float64)
    return _ridge_predictions(arm_features, theta[None, :], np.zeros(n_events, dtype=np.int64),
                              check_int("chunk", chunk, minimum=1))


def _ridge_statistics(arm_features, actions: np.ndarray, rewards: np.ndarray, group: np.ndarray, n_groups: int,
                      chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: sum of x x^T and of r x over the logged arms' features, shapes (G, d, d) and (G, d)."""
    n = len(rewards)
    A, b = None, None
    for start in range(0, n, chunk):
        index = np.arange(start, min(start + chunk, n))
        X = _features_of(arm_features, index)
        if A is None:
            if actions.max() >= X.shape[1]:
                raise ValueError(f"actions must be < n_actions = {X.shape[1]} (arms in arm_features), "
                                 f"got {actions.max()}")
            A, b = np.zeros((n_groups, X.shape[2], X.shape[2])), np.zeros((n_groups, X.shape[2]))
        x = X[np.arange(len(index)), actions[index]]
        for g in range(n_groups):
            mine = group[index] == g
            A[g] += x[mine].T @ x[mine]
            b[g] += x[mine].T @ rewards[index][mine]
    return A, b


def _ridge_predictions(arm_features, thetas: np.ndarray, group: np.ndarray, chunk: int) -> np.ndarray:
    """Row i: the features of event i's arms times ``thetas[group[i]]``, shape (n, n_actions)."""
    n = len(group)
    predictions = None
    for start in range(0, n, chunk):
        index = np.arange(start, min(start + chunk, n))
        X = _features_of(arm_features, index)
        if X.shape[2] != thetas.shape[1]:
            raise ValueError(f"theta must have one entry per feature ({X.shape[2]}), got {thetas.shape[1]}")
        if predictions is None:
            predictions = np.empty((n, X.shape[1]))
        predictions[index] = np.einsum("mad,md->ma", X, thetas[group[index]])
    return predictions


# ---------------------------------------------------------------------------- replay
class Agent(Protocol):
    """What :func:`replay` needs of an agent: ``predict(X) -> arm`` and ``update(arm, x, reward)``."""

    def predict(self, feature_vectors: torch.Tensor) -> int: ...

    def update(self, chosen_arm: int, feature_vector: torch.Tensor, reward: float) -> None: ...


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` returns.

    Attributes
    ----------
    estimate : OffPolicyEstimate
        Mean reward over the accepted events with its interval (``n`` = accepted events).
    order : numpy.ndarray of int, shape (n_events,)
        The order in which the events were replayed.
    chosen : numpy.ndarray of int, shape (n_events,)
        The agent's choice at each event, indexed by event (not by replay order); -1 for
        events not reached (after ``max_accepted``).
    accepted : numpy.ndarray of bool, shape (n_events,)
        Whether the event was accepted (choice = logged action), indexed by event.
    rewards : numpy.ndarray, shape (n_events,)
        The log's rewards, indexed by event.
    n_actions : int
    """

    estimate: OffPolicyEstimate
    order: np.ndarray
    chosen: np.ndarray
    accepted: np.ndarray
    rewards: np.ndarray
    n_actions: int

    @property
    def n_accepted(self) -> int:
        """Number of accepted events: the length of the agent's simulated run."""
        return int(self.accepted.sum())

    @property
    def value(self) -> float:
        """The replay estimate (``estimate.value``)."""
        return self.estimate.value

    def cumulative_reward(self) -> np.ndarray:
        """Reward collected after each accepted event, in replay order, shape (n_accepted,)."""
        in_order = self.accepted[self.order]
        return np.cumsum(self.rewards[self.order][in_order])


def replay(agent: Agent, arm_features: ArmFeatures | np.ndarray | torch.Tensor, actions: np.ndarray,
           rewards: np.ndarray, propensities: np.ndarray | None = None, order: np.ndarray | None = None,
           max_accepted: int | None = None, confidence: float = 0.95, interval: str = "auto") -> ReplayResult:
    r"""Replay evaluation of a (learning) agent on a uniformly random log (Li et al., 2011).

    For each event in ``order``: the agent sees the event's per-arm features and chooses
    an arm; if it is the logged action the event is *accepted*, the agent is updated with
    the logged reward and the reward is counted; otherwise the event is skipped and the
    agent learns nothing from it. The estimate is the mean reward over accepted events:

    .. math:: \hat V_\text{replay} = \frac{\sum_i \mathbb 1[\pi_{h_{i-1}}(x_i) = a_i]\, r_i}
              {\sum_i \mathbb 1[\pi_{h_{i-1}}(x_i) = a_i]},

    with :math:`h_{i-1}` the accepted history before event :math:`i`. When the log's
    actions are uniformly random and the events i.i.d., the accepted events are
    distributed exactly as ``n_accepted`` steps of the agent run online, so this is an
    unbiased estimate of the agent's average reward over a run of that length; about one
    event in ``n_actions`` is accepted.

    Parameters
    ----------
    agent : object with ``predict`` and ``update``
        Called as ``arm = agent.predict(X)`` with ``X`` of shape (n_actions, d) and, on
        accepted events only, ``agent.update(arm, X[arm], reward)``. Changed in place.
    arm_features : callable or array
        ``arm_features(i)`` returns event ``i``'s per-arm features, shape (n_actions, d)
        (e.g. :meth:`OpenBanditData.arm_features`), or an array of shape
        (n_events, n_actions, d).
    actions : numpy.ndarray of int, shape (n_events,)
    rewards : numpy.ndarray, shape (n_events,)
    propensities : numpy.ndarray, shape (n_events,), optional
        If given, checked to be constant at ``1 / n_actions`` (replay assumes uniform logging).
    order : numpy.ndarray of int, shape (n_events,), optional
        A permutation of the events; default: as logged.
    max_accepted : int, optional
        Stop after this many accepted events (to compare with an online run of that length).
    confidence : float, default 0.95
    interval : {"auto", "wilson", "t"}, default "auto"
        Wilson score interval for 0/1 rewards ("auto" picks it when rewards are 0/1), else t.

    Returns
    -------
    ReplayResult
    """
    r = _check_rewards(rewards)
    n = len(r)
    a = _check_actions(actions, n, None)
    confidence = _check_confidence(confidence)
    if interval not in ("auto", "wilson", "t"):
        raise ValueError(f"interval must be one of ('auto', 'wilson', 't'), got {interval!r}")
    binary = bool(np.isin(r, (0.0, 1.0)).all())
    if interval == "wilson" and not binary:
        raise ValueError("interval='wilson' needs rewards that are all 0 or 1")
    if order is None:
        order = np.arange(n)
    else:
        order = _as_array("order", order, 1)
        if not np.issubdtype(order.dtype, np.integer) or len(order) != n or not np.array_equal(np.sort(order),
                                                                                              np.arange(n)):
            raise ValueError(f"order must be a permutation of the {n} events (integers 0..{n - 1}, each once)")
    if max_accepted is not None:
        max_accepted = check_int("max_accepted", max_accepted, minimum=1)
    if not (hasattr(agent, "predict") and hasattr(agent, "update")):
        raise TypeError(f"agent must have predict(X) and update(arm, x, reward) methods, got {type(agent).__name__}")

    def features(i: int) -> torch.Tensor:
        X = arm_features(i) if callable(arm_features) else arm_features[i]
        return X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X, dtype=np.float32))

    first = features(int(order[0]))
    if first.ndim != 2:
        raise ValueError(f"arm_features must give a matrix of shape (n_actions, d) per event, got {tuple(first.shape)}")
    n_actions = first.shape[0]
    if a.max() >= n_actions:
        raise ValueError(f"actions must be < n_actions = {n_actions} (rows of arm_features), got {a.max()}")
    if propensities is not None:
        _check_uniform(_check_propensities(propensities, n), n_actions)

    chosen = np.full(n, -1, dtype=np.int64)
    accepted = np.zeros(n, dtype=bool)
    n_accepted = 0
    for step, i in enumerate(order.tolist()):
        X = first if step == 0 else features(i)
        arm = int(agent.predict(X))
        chosen[i] = arm
        if arm == a[i]:
            agent.update(arm, X[arm], float(r[i]))
            accepted[i] = True
            n_accepted += 1
            if max_accepted is not None and n_accepted >= max_accepted:
                break

    estimate = _replay_estimate(r[accepted], confidence, interval)
    return ReplayResult(estimate, np.asarray(order, dtype=np.int64), chosen, accepted, r, n_actions)


def replay_difference(first: ReplayResult, second: ReplayResult, confidence: float = 0.95) -> OffPolicyEstimate:
    r"""Paired comparison of two agents replayed on the same log in the same order.

    Replay's value is, up to the random number of accepted events, the IPS estimate
    :math:`\frac1n\sum_i K\,\mathbb 1[\text{accepted}_i]\, r_i` (``K`` actions, uniform
    logging). The difference of two agents is estimated event by event,

    .. math:: \hat\Delta = \frac1n \sum_i K\, r_i
              \big(\mathbb 1[\text{accepted}^A_i] - \mathbb 1[\text{accepted}^B_i]\big),

    so an event both agents accepted (or both skipped) cancels, and the t interval over
    these per-event terms is the paired interval.

    Returns
    -------
    OffPolicyEstimate
        ``estimator="difference"``; positive when ``first`` earned more.
    """
    for name, result in (("first", first), ("second", second)):
        if not isinstance(result, ReplayResult):
            raise TypeError(f"{name} must be a ReplayResult, got {type(result).__name__}")
    if not (np.array_equal(first.order, second.order) and np.array_equal(first.rewards, second.rewards)
            and first.n_actions == second.n_actions):
        raise ValueError("first and second must be replays of the same log in the same order")
    confidence = _check_confidence(confidence)
    reached = (first.chosen >= 0) & (second.chosen >= 0)
    terms = first.n_actions * first.rewards[reached] * (first.accepted[reached].astype(float)
                                                       - second.accepted[reached].astype(float))
    value, se, lower, upper = t_interval(terms, confidence)
    return OffPolicyEstimate("difference", value, se, lower, upper, confidence, len(terms), float(len(terms)), "t",
                             terms)


def replay_fixed(target_probabilities: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                 propensities: np.ndarray | None = None, seed: int = 0, confidence: float = 0.95) -> ReplayResult:
    r"""Replay of a *fixed* (non-learning) policy, vectorised.

    At each event the policy's action is drawn from ``target_probabilities[i]`` (with a
    generator seeded by ``seed``; a deterministic policy draws nothing random) and the
    event is accepted when it equals the logged action -- what :func:`replay` does with an
    agent that never changes, without the per-event Python loop. Under uniform logging
    the accepted rewards are an i.i.d. sample of the policy's rewards, so the estimate is
    unbiased for :math:`V(\pi)` given at least one accepted event.

    Parameters
    ----------
    target_probabilities : numpy.ndarray, shape (n, n_actions)
    actions, rewards, propensities, confidence
        As for :func:`replay`.
    seed : int, default 0

    Returns
    -------
    ReplayResult
    """
    r = _check_rewards(rewards)
    n = len(r)
    pi = _check_target(target_probabilities, n)
    a = _check_actions(actions, n, pi.shape[1])
    confidence = _check_confidence(confidence)
    seed = check_int("seed", seed, minimum=0)
    n_actions = pi.shape[1]
    if propensities is not None:
        _check_uniform(_check_propensities(propensities, n), n_actions)
    cdf = np.cumsum(pi, axis=1)
    cdf[:, -1] = 1.0
    uniforms = np.random.default_rng(seed).random(n)
    chosen = np.minimum((cdf <= uniforms[:, None]).sum(axis=1), n_actions - 1).astype(np.int64)
    accepted = chosen == a
    estimate = _replay_estimate(r[accepted], confidence, "auto")
    return ReplayResult(estimate, np.arange(n, dtype=np.int64), chosen, accepted, r, n_actions)


def _check_uniform(p: np.ndarray, n_actions: int) -> None:
    if not np.allclose(p, 1.0 / n_actions, rtol=1e-6, atol=0):
        raise ValueError(f"replay needs a uniformly random logging policy (every propensity 1/{n_actions} = "
                         f"{1 / n_actions:.6g}), got propensities in [{p.min():.3g}, {p.max():.3g}]; "
                         "use ips, snips or doubly_robust for other logging policies")


def _replay_estimate(kept: np.ndarray, confidence: float, interval: str) -> OffPolicyEstimate:
    binary = bool(np.isin(kept, (0.0, 1.0)).all())
    if interval == "wilson" or (interval == "auto" and binary):
        if len(kept):
            value = float(kept.mean())
            se = math.sqrt(value * (1 - value) / len(kept))
            lower, upper = _wilson_float(float(kept.sum()), len(kept), confidence)
        else:
            value = se = lower = upper = math.nan
        kind = "wilson"
    else:
        value, se, lower, upper = t_interval(kept, confidence)
        kind = "t"
    return OffPolicyEstimate("replay", value, se, lower, upper, confidence, len(kept), float(len(kept)), kind, kept)


def _replay_job(name: str, factory: Callable[[int], Agent], seed: int, arm_features, actions, rewards, propensities,
                shuffle: bool, torch_threads: int) -> tuple[str, int, ReplayResult, float]:
    import time

    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        order = np.random.default_rng(seed).permutation(len(actions)) if shuffle else None
        start = time.perf_counter()
        result = replay(factory(seed), arm_features, actions, rewards, propensities=propensities, order=order)
        return name, seed, result, time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


def replay_comparison(agents: Mapping[str, Callable[[int], Agent]],
                      arm_features: ArmFeatures | np.ndarray | torch.Tensor, actions: np.ndarray,
                      rewards: np.ndarray, propensities: np.ndarray | None = None, seeds: Sequence[int] = (0,),
                      shuffle: bool = False, n_jobs: int | None = None, torch_threads: int = 1) -> pd.DataFrame:
    """:func:`replay` of every agent for every seed, in parallel; one table row per run.

    Parameters
    ----------
    agents : mapping of str to factory
        Name -> ``factory(seed)`` returning a fresh agent.
    arm_features, actions, rewards, propensities
        As for :func:`replay`.
    seeds : sequence of int, default (0,)
        One run per agent and seed; the seed goes to the factory and, with ``shuffle``,
        fixes the replay order (the same order for every agent of a seed).
    shuffle : bool, default False
        Replay in a random order per seed instead of the logged order.
    n_jobs : int, optional
        Processes (joblib). Default: all cores, or 1 at smoke scale.
    torch_threads : int, default 1

    Returns
    -------
    pandas.DataFrame
        Columns ``agent, seed, value, lower, upper, n_accepted, reward, seconds``; the
        :class:`ReplayResult` of each run in ``df.attrs["results"][(agent, seed)]``.
    """
    from .config import SMOKE

    if not isinstance(agents, Mapping) or len(agents) == 0:
        raise ValueError("agents must be a non-empty mapping of name -> factory(seed)")
    for name, factory in agents.items():
        if not callable(factory):
            raise TypeError(f"agents[{name!r}] must be a factory seed -> agent, got {type(factory).__name__}")
    seeds = [check_int("seeds[i]", s, minimum=0) for s in seeds]
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers, got {seeds}")
    torch_threads = check_int("torch_threads", torch_threads, minimum=1)
    jobs = [(name, factory, seed) for seed in seeds for name, factory in agents.items()]
    if n_jobs is None:
        n_jobs = 1 if SMOKE else -1
    arguments = (arm_features, actions, rewards, propensities, bool(shuffle), torch_threads)
    if n_jobs == 1 or len(jobs) == 1:
        outputs = [_replay_job(name, factory, seed, *arguments) for name, factory, seed in jobs]
    else:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=n_jobs)(delayed(_replay_job)(name, factory, seed, *arguments)
                                          for name, factory, seed in jobs)
    rows, results = [], {}
    for name, seed, result, seconds in outputs:
        results[name, seed] = result
        e = result.estimate
        rows.append({"agent": name, "seed": seed, "value": e.value, "lower": e.lower, "upper": e.upper,
                     "n_accepted": result.n_accepted, "reward": float(e.terms.sum()), "seconds": seconds})
    table = pd.DataFrame(rows)
    table.attrs["results"] = results
    return table


# ---------------------------------------------------------------------------- the pet shop
@dataclass(frozen=True)
class PetShopLog:
    """A log of the simulated pet shop with what off-policy evaluation needs.

    Attributes
    ----------
    personas : numpy.ndarray of int, shape (n,)
        Index into ``PERSONAS`` of each event's user (the context).
    actions : numpy.ndarray of int, shape (n,)
        Product shown.
    rewards : numpy.ndarray, shape (n,)
        Click.
    propensities : numpy.ndarray, shape (n,)
        The logging policy's probability of the product shown.
    true_ctr : numpy.ndarray, shape (n,)
        The simulator's click probability of the logged pair (unknown to a real shop).
    """

    personas: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray
    true_ctr: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)


def _policy_table(simulator: ZooplusSimulator, product_probabilities: np.ndarray | None) -> np.ndarray:
    n_products, n_personas = simulator.n_products, len(PERSONAS)
    if product_probabilities is None:
        return np.full((n_personas, n_products), 1.0 / n_products)
    table = np.asarray(product_probabilities, dtype=np.float64)
    if table.ndim == 1:
        table = np.broadcast_to(table, (n_personas, n_products))
    if table.shape != (n_personas, n_products):
        raise ValueError(f"product_probabilities must have shape ({n_products},) or ({n_personas}, {n_products}), "
                         f"got {np.shape(product_probabilities)}")
    if not np.isfinite(table).all() or (table < 0).any() or not np.allclose(table.sum(1), 1.0, atol=1e-8):
        raise ValueError("product_probabilities must be finite, non-negative, with rows summing to 1")
    return table


def pet_shop_log(simulator: ZooplusSimulator, n_interactions: int, seed: int = 0,
                 product_probabilities: np.ndarray | None = None) -> PetShopLog:
    """Log the pet shop under a logging policy (:func:`~bandits_lib.recommender.collect_log`) with propensities.

    Parameters
    ----------
    simulator, n_interactions, seed, product_probabilities
        As for :func:`~bandits_lib.recommender.collect_log`: ``None`` logs uniformly at
        random, an array of shape (n_products,) or (n_personas, n_products) is the logging
        policy (one row per persona).

    Returns
    -------
    PetShopLog
    """
    from .recommender import collect_log

    log = collect_log(simulator, n_interactions, seed=seed, product_probabilities=product_probabilities)
    table = _policy_table(simulator, product_probabilities)
    personas = simulator.persona_index(log["user_id"].to_numpy())
    actions = log["product_id"].to_numpy(dtype=np.int64)
    return PetShopLog(personas=personas, actions=actions, rewards=log["click"].to_numpy(dtype=np.float64),
                      propensities=table[personas, actions], true_ctr=log["true_ctr"].to_numpy(dtype=np.float64))


def true_policy_value(simulator: ZooplusSimulator, product_probabilities: np.ndarray | None = None) -> float:
    r"""Exact value of a persona-wise policy in the simulated shop.

    .. math:: V(\pi) = \sum_k s_k \sum_a \pi(a \mid k)\, \mathrm{CTR}(k, a),

    with :math:`s_k` the share of the shop's users who have persona :math:`k` (users visit
    uniformly at random). ``product_probabilities`` as for :func:`pet_shop_log` (``None``:
    uniform).
    """
    if not isinstance(simulator, ZooplusSimulator):
        raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
    table = _policy_table(simulator, product_probabilities)
    share = np.bincount(simulator.persona_index(np.arange(simulator.n_users)), minlength=len(PERSONAS))
    share = share / share.sum()
    return float(share @ np.sum(table * simulator.ctr_matrix(), axis=1))


def estimator_study(simulator: ZooplusSimulator, target_probabilities: np.ndarray, n_interactions: int,
                    n_replications: int, logging_probabilities: np.ndarray | None = None, seed: int = 0,
                    confidence: float = 0.95, lambda_: float = 1.0,
                    reward_features: np.ndarray | None = None) -> pd.DataFrame:
    r"""Every estimator on many independent logs of the pet shop, against the exact value.

    Each replication logs ``n_interactions`` events under the logging policy
    (:func:`pet_shop_log`), then estimates the value of the target policy with
    :func:`ips`, :func:`snips`, :func:`doubly_robust` (reward model: :func:`cross_fit_ridge`
    on the book's 9 features, persona one-hot and category one-hot, which cannot
    represent every persona-category CTR: a deliberately imperfect model) and, under
    uniform logging, :func:`replay_fixed`. The truth is :func:`true_policy_value`.

    Parameters
    ----------
    simulator : ZooplusSimulator
    target_probabilities : numpy.ndarray, shape (n_products,) or (n_personas, n_products)
        The target policy, one row per persona (as ``product_probabilities`` of
        :func:`pet_shop_log`).
    n_interactions : int
        Events per log.
    n_replications : int
        Independent logs.
    logging_probabilities : numpy.ndarray, optional
        The logging policy; ``None`` logs uniformly at random.
    seed : int, default 0
        Replication ``j`` logs with the seed ``SeedSequence([seed, j])`` derives.
    confidence : float, default 0.95
    lambda_ : float, default 1.0
        Ridge of the reward model.
    reward_features : numpy.ndarray, shape (n_personas, n_products, d), optional
        The features the reward model regresses on, per persona and product. Default: the
        book's 9 features (:class:`~bandits_lib.features.FeatureBuilder`). A one-hot of the
        (persona, category) pair, for example, lets the model be exact.

    Returns
    -------
    pandas.DataFrame
        One row per (replication, estimator): ``replication, estimator, value, std_error,
        lower, upper, ess, covered`` (whether the interval holds the truth);
        ``df.attrs["truth"]`` is the exact value.
    """
    from .envs.features import FeatureBuilder

    if not isinstance(simulator, ZooplusSimulator):
        raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
    n_interactions = check_int("n_interactions", n_interactions, minimum=2)
    n_replications = check_int("n_replications", n_replications, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    confidence = _check_confidence(confidence)
    target = _policy_table(simulator, target_probabilities)
    _policy_table(simulator, logging_probabilities)  # checked before any work
    truth = true_policy_value(simulator, target)
    if reward_features is None:
        by_persona = FeatureBuilder(simulator.products).by_index.numpy().astype(np.float64)  # (n_personas, K, 9)
    else:
        by_persona = _as_array("reward_features", reward_features, 3).astype(np.float64)
        if by_persona.shape[:2] != (len(PERSONAS), simulator.n_products) or not np.isfinite(by_persona).all():
            raise ValueError(f"reward_features must be finite with shape ({len(PERSONAS)}, {simulator.n_products}, d), "
                             f"got {by_persona.shape}")
    rows = []
    for j in range(n_replications):
        log_seed = int(np.random.SeedSequence([seed, j]).generate_state(1)[0])
        log = pet_shop_log(simulator, n_interactions, seed=log_seed, product_probabilities=logging_probabilities)
        pi = target[log.personas]
        q = cross_fit_ridge(lambda index, personas=log.personas: by_persona[personas[index]], log.actions,
                            log.rewards, lambda_=lambda_, seed=j)
        estimates = [ips(log.rewards, log.actions, log.propensities, pi, confidence),
                     snips(log.rewards, log.actions, log.propensities, pi, confidence),
                     doubly_robust(log.rewards, log.actions, log.propensities, pi, q, confidence)]
        if logging_probabilities is None:
            estimates.append(replay_fixed(pi, log.actions, log.rewards, seed=j, confidence=confidence).estimate)
        for e in estimates:
            rows.append({"replication": j, "estimator": e.estimator, "value": e.value, "std_error": e.std_error,
                         "lower": e.lower, "upper": e.upper, "ess": e.ess,
                         "covered": bool(e.lower <= truth <= e.upper)})
    study = pd.DataFrame(rows)
    study.attrs["truth"] = truth
    return study


def summarize_study(study: pd.DataFrame) -> pd.DataFrame:
    """Bias, spread and coverage of each estimator in an :func:`estimator_study`.

    Returns
    -------
    pandas.DataFrame
        Index ``estimator``; columns ``mean``, ``bias`` (mean minus truth), ``bias_se``
        (its Monte Carlo standard error, sd / sqrt(replications)), ``sd``, ``rmse``,
        ``coverage`` (share of intervals holding the truth), ``mean_ess`` and
        ``replications``.
    """
    if not isinstance(study, pd.DataFrame) or "truth" not in study.attrs:
        raise TypeError("study must be the DataFrame estimator_study returns (with attrs['truth'])")
    truth = study.attrs["truth"]
    grouped = study.groupby("estimator", sort=False)
    table = pd.DataFrame({
        "mean": grouped["value"].mean(),
        "bias": grouped["value"].mean() - truth,
        "bias_se": grouped["value"].std(ddof=1) / np.sqrt(grouped.size()),
        "sd": grouped["value"].std(ddof=1),
        "rmse": grouped["value"].apply(lambda v: float(np.sqrt(np.mean((v - truth) ** 2)))),
        "coverage": grouped["covered"].mean(),
        "mean_ess": grouped["ess"].mean(),
        "replications": grouped.size(),
    })
    table.attrs["truth"] = truth
    return table


def replay_versus_online(agent_factory: Callable[[int], Agent], horizon: int, seeds: Sequence[int] = (0,),
                         n_products: int = 10, log_factor: float = 1.5) -> pd.DataFrame:
    """A learning agent replayed on a uniformly random log, and the same agent run online.

    For each seed, in the shop ``ZooplusSimulator(n_products, seed=seed)``:

    * **online**: ``agent_factory(seed)`` plays ``horizon`` steps
      (:func:`~bandits_lib.experiments.play`); the table keeps the true CTR of each arm
      played (its expected reward);
    * **replay**: a fresh ``agent_factory(seed)`` is replayed (:func:`replay`) on a
      uniformly random log of ``log_factor * horizon * n_products`` events
      (:func:`pet_shop_log`) until ``horizon`` events are accepted; the table keeps the
      click of each accepted event.

    Li et al.'s theorem says that the replayed run is distributed as an online run of the
    same length, so both columns have the same mean at every step.

    Returns
    -------
    pandas.DataFrame
        One row per (seed, step): ``seed, step, online`` (expected reward of the online
        arm), ``replay`` (click of the ``step``-th accepted event; NaN if the log ran out).
    """
    from .envs.petshop import PetShopEnvironment
    from .experiments import play
    from .envs.features import FeatureBuilder

    if not callable(agent_factory):
        raise TypeError(f"agent_factory must be a callable seed -> agent, got {type(agent_factory).__name__}")
    horizon = check_int("horizon", horizon, minimum=1)
    n_products = check_int("n_products", n_products, minimum=2)
    log_factor = check_float("log_factor", log_factor, minimum=1.0)
    seeds = [check_int("seeds[i]", seed, minimum=0) for seed in seeds]
    frames = []
    for seed in seeds:
        simulator = ZooplusSimulator(n_products=n_products, seed=seed)
        # One (K, 9) tensor per persona, the same object at every visit (agents cache their checks by object).
        matrices = list(FeatureBuilder(simulator.products).by_index)
        log = pet_shop_log(simulator, int(math.ceil(log_factor * horizon * n_products)), seed=seed)
        result = replay(agent_factory(seed), lambda i, m=matrices, personas=log.personas: m[personas[i]],
                        log.actions, log.rewards, propensities=log.propensities, max_accepted=horizon)
        replayed = np.full(horizon, np.nan)
        clicks = result.rewards[result.order][result.accepted[result.order]]
        replayed[:len(clicks)] = clicks
        online = play(agent_factory(seed), PetShopEnvironment.from_stream(simulator, simulator.draw_stream(horizon)))
        online = online["expected_reward"]
        frames.append(pd.DataFrame({"seed": seed, "step": np.arange(horizon), "online": online,
                                    "replay": replayed}))
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "OffPolicyEstimate", "ReplayResult", "PetShopLog", "Agent", "t_quantile", "t_interval", "wilson_interval",
    "effective_sample_size", "importance_weights", "ips", "snips", "doubly_robust", "on_policy", "evaluate_policy",
    "uniform_policy", "deterministic_policy", "cross_fit_ridge", "fit_ridge", "predict_ridge", "replay",
    "replay_fixed", "replay_comparison", "replay_difference", "pet_shop_log", "true_policy_value", "estimator_study",
    "summarize_study", "replay_versus_online",
]
