"""Argument checks shared by every public entry point.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind,
wrong value) with a message that names the argument, what was expected and what was
received. Checks never modify their inputs, so a rejected call leaves state untouched.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_float(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    strictly_positive: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return str(value)


def check_hidden_dims(name: str, value: object) -> tuple[int, ...]:
    """Check a non-empty sequence of positive layer widths."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}")
    if len(value) == 0:
        raise ValueError(f"{name} must name at least one hidden layer, got {tuple(value)}")
    return tuple(check_int(f"{name}[{i}]", h, minimum=1) for i, h in enumerate(value))


def check_device(name: str, value: object) -> torch.device:
    """Return a ``torch.device``; CUDA only when it is available."""
    try:
        device = torch.device(value)  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} must be a torch device such as 'cpu' or 'cuda', got {value!r}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={value!r} was requested but CUDA is not available on this machine")
    return device


#: Largest magnitude accepted for features and rewards given to an agent. Networks
#: compute in float32 and Adam squares gradients that scale with features times
#: rewards; once a square overflows, Adam's second moment is inf and the network silently
#: stops learning for good (rewards of 1e12 already did that to the Neural-LinUCB hybrid;
#: see chapters/appendix_reliability). 1e6 leaves a wide margin; rescale larger values.
MAX_ABS_INPUT = 1e6


def _check_magnitude(name: str, tensor: torch.Tensor, max_abs: float | None) -> None:
    if max_abs is None:
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
        return
    if not bool((tensor.abs() <= max_abs).all()):  # NaN fails the comparison too
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
        raise ValueError(f"{name} must lie within [-{max_abs:g}, {max_abs:g}] (rescale the inputs), "
                         f"got a value of magnitude {float(tensor.abs().max()):.3g}")


def check_matrix(
    name: str,
    value: object,
    *,
    n_cols: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
    max_abs: float | None = None,
) -> torch.Tensor:
    """Check a finite 2-D array with at least one row and ``n_cols`` columns.

    Returns a tensor of ``dtype`` on ``device`` (a new tensor only when a
    conversion is needed; the input is never modified). With ``max_abs``, every
    entry must also lie within ``[-max_abs, max_abs]``.
    """
    tensor = _as_tensor(name, value)
    if tensor.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_arms, {n_cols if n_cols else 'feature_dim'}), "
            f"got shape {tuple(tensor.shape)}"
        )
    if tensor.shape[0] < 1:
        raise ValueError(f"{name} must have at least one row (one per arm), got shape {tuple(tensor.shape)}")
    if n_cols is not None and tensor.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} columns (feature_dim), got shape {tuple(tensor.shape)}")
    tensor = tensor.to(device=device, dtype=dtype)
    _check_magnitude(name, tensor, max_abs)
    return tensor


def check_vector(
    name: str,
    value: object,
    *,
    length: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
    max_abs: float | None = None,
) -> torch.Tensor:
    """Check a finite vector of ``length`` (a (1, length) row is accepted too), within ``max_abs`` if given."""
    tensor = _as_tensor(name, value)
    if tensor.ndim == 2 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.ndim != 1 or tensor.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), got shape {tuple(tensor.shape)}")
    tensor = tensor.to(device=device, dtype=dtype)
    _check_magnitude(name, tensor, max_abs)
    return tensor


def check_reward(name: str, value: object, *, max_abs: float | None = None) -> float:
    """Check a finite real reward (bools and numpy scalars are accepted), within ``max_abs`` if given."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if max_abs is not None and abs(value) > max_abs:
        raise ValueError(f"{name} must lie within [-{max_abs:g}, {max_abs:g}] (rescale the rewards), got {value:g}")
    return value


def _as_tensor(name: str, value: object) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value
    elif isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
            raise TypeError(f"{name} must be numeric, got a numpy array of dtype {value.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(value))
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(value).__name__}")
    if tensor.is_complex() or not (tensor.is_floating_point() or tensor.dtype in _INT_DTYPES):
        raise TypeError(f"{name} must be a real-valued tensor, got dtype {tensor.dtype}")
    return tensor


_INT_DTYPES = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool}
