r"""Checkpoints: a file format, a digest, atomic writes and a generic state walker.

A checkpoint is everything needed to continue as if nothing had stopped: the object's
constructor parameters (so that ``load`` can rebuild it) and its learned state. For an
agent that is the network parameters, the optimiser's moments, the kept :math:`A^{-1}`
(or :math:`\operatorname{diag}(A)`, or LinUCB's :math:`A_a^{-1}, b_a, \hat\theta_a`),
the step counters and the random generators; resuming from a checkpoint taken at step
``t`` reproduces the uninterrupted run bit for bit (tested for every agent).

This module knows no class of the library. A class takes part by subclassing
:class:`Stateful`: its state is its attributes, minus its constructor parameters (stored
apart, as the configuration) and minus the attributes it declares transient (caches,
a pending decision). Attribute values are stored by type: tensors, ``nn.Module``
(its ``state_dict``), ``torch.optim.Optimizer``, numpy and torch generators, numpy
arrays, numbers, strings, containers of these, and nested :class:`Stateful` objects.
Methods and classes are code, not state, and are skipped; any other value makes
``save`` fail with an error naming the attribute, rather than write a checkpoint that
would not resume exactly.

Rules
-----
* **Safe to load.** Files are written with :func:`torch.save` and read with
  ``torch.load(..., weights_only=True)``: only tensors, numbers, strings, dtypes and
  plain containers are ever unpickled. A class named in a file is looked up among the
  classes already imported, never imported by name.
* **Checked before use.** The file carries a SHA-256 digest of its content: a
  truncated or corrupted file, a file of another class or of other shapes raises
  :class:`CheckpointError` (a ``ValueError``) naming the file and the problem.
* **All or nothing.** Loading first checks every key, shape and dtype, then applies;
  a rejected load changes nothing.
* **Atomic writes.** A checkpoint is written to a temporary file and renamed.

Examples
--------
>>> import tempfile, os, torch
>>> from bandits_lib import LinUCBAgent
>>> agent = LinUCBAgent(3, 2)
>>> X = torch.eye(3, 2); arm = agent.predict(X); agent.update(arm, X[arm], 1.0)
>>> path = os.path.join(tempfile.mkdtemp(), "linucb.pt")
>>> _ = agent.save(path)
>>> twin = LinUCBAgent.load(path)
>>> twin.t, torch.equal(twin.ridge.A_inv, agent.ridge.A_inv)
(1, True)

Taught in: chapters/appendix_reliability.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import numbers
import os
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

#: Marker of every checkpoint file written by this module.
FORMAT = "bandits_lib.checkpoint"
#: Version of the layout below; files of another version are refused.
FORMAT_VERSION = 2

_KIND = "__kind__"
_SKIP = object()
_MISSING = object()
S = TypeVar("S", bound="Stateful")
Action = Callable[[], None]


class CheckpointError(ValueError):
    """A checkpoint cannot be written, read or applied; the message says why (and which file)."""


# ---------------------------------------------------------------------------- the mixin
class Stateful:
    """An object whose learned state is its attributes, for checkpoints.

    State = ``vars(self)`` minus the constructor parameters (a ``Configurable``'s
    ``get_params``, stored as the configuration) minus :attr:`_transient_attributes`.
    Subclasses that must refuse or validate add checks by overriding
    :meth:`state_dict` / :meth:`load_state_dict` and calling ``super()``.
    """

    #: Attributes that are not state (caches, pending work); subclasses extend it.
    _transient_attributes: frozenset[str] = frozenset()

    def _parameter_names(self) -> tuple[str, ...]:
        """Constructor parameters, stored apart from the state (``Configurable`` provides them)."""
        return ()

    def _state_names(self) -> list[str]:
        excluded = self._transient_attributes | set(self._parameter_names())
        return [name for name, value in vars(self).items()
                if name not in excluded and not (inspect.isroutine(value) or isinstance(value, type))]

    def state_dict(self) -> dict[str, Any]:
        """The learned state: plain values and tensors only (copies), safe for ``weights_only`` loading."""
        where = type(self).__name__
        return {"class": _qualified_name(type(self)),
                "attributes": {name: _encode(getattr(self, name), f"{where}.{name}") for name in self._state_names()}}

    def load_state_dict(self, state: Mapping[str, Any], source: str = "state") -> None:
        """Replace the state by ``state`` (from :meth:`state_dict` of the same class and shapes), all or nothing.

        Raises :class:`CheckpointError` (naming ``source``) for another class, missing
        attributes, or other shapes and dtypes; nothing is changed then.
        """
        for action in self._plan_load(state, source, _device_of(self)):
            action()

    def _plan_load(self, state: Mapping[str, Any], where: str, device: torch.device) -> list[Action]:
        """Check ``state`` against this object and return the actions that apply it (nothing applied yet).

        The generic walk restores every attribute in place (same shapes). A class whose
        state changes shape as it learns (e.g. a growing buffer) overrides this pair with
        :meth:`state_dict`, keeping the rule: check everything first, then apply.
        """
        return _plan_state(self, state, where, device)

    # The file interface, for objects that are also Configurable.
    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint to ``path`` (atomically); :meth:`load` rebuilds the object from it."""
        return save_checkpoint(self, path)

    @classmethod
    def load(cls: type[S], path: str | os.PathLike, **kwargs: Any) -> S:
        """Rebuild an object of this class (or a subclass) from the checkpoint at ``path``.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        device : str or torch.device, optional
            Where to put the loaded object, for objects that take a ``device``.
        **expected
            Parameters the checkpoint must have, e.g. ``feature_dim=9``; a mismatch
            raises :class:`CheckpointError`.
        """
        return load_checkpoint(path, cls=cls, **kwargs)

    def restore(self, path: str | os.PathLike) -> None:
        """Load the checkpoint at ``path`` into this object (same class and parameters), all or nothing."""
        restore_checkpoint(self, path)


# ---------------------------------------------------------------------------- files
def save_checkpoint(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj``'s configuration and state to ``path`` (atomic: temporary file, then rename).

    ``obj`` must be :class:`Stateful` and have ``get_params`` (a ``Configurable``).
    """
    if not isinstance(obj, Stateful) or not hasattr(obj, "get_params"):
        raise TypeError(f"obj must be a Stateful, Configurable object of bandits_lib, got {type(obj).__name__}")
    name = type(obj).__name__
    content = {"class": _qualified_name(type(obj)), "config": _encode_config(obj.get_params(), name),
               "state": obj.state_dict()}
    return _write(path, content)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The verified content of ``path``: ``{"class", "config", "state"}`` (format, version and digest checked)."""
    return _read(path)


def load_checkpoint(path: str | os.PathLike, cls: type | None = None, **kwargs: Any) -> Any:
    """Rebuild whatever ``path`` holds (an agent, a simulator, a stream...).

    ``cls``, if given, must be the stored class or a base of it. ``device=`` moves the
    object; other keywords are parameters the checkpoint must have (a mismatch raises
    :class:`CheckpointError`).
    """
    content = _read(path)
    source = str(path)
    stored = _known_class(content["class"], source)
    if cls is not None and not issubclass(stored, cls):
        raise CheckpointError(f"{source}: holds a {stored.__name__} checkpoint, not a {cls.__name__}")
    config = _decode_config(content["config"], source)
    if "device" in kwargs:
        device = kwargs.pop("device")
        if "device" not in config:
            raise TypeError(f"{stored.__name__} takes no device")
        if device is not None:
            config["device"] = device
    for key, expected in kwargs.items():
        if key not in config:
            raise TypeError(f"{stored.__name__} has no parameter {key!r} to compare")
        if not _config_equal(_encode_config(expected, key), _encode_config(config[key], key)):
            raise CheckpointError(f"{source}: the checkpoint's {stored.__name__} has {key}={_show(config[key])}, "
                                  f"expected {_show(expected)}")
    try:
        obj = stored(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: cannot rebuild {stored.__name__} from the stored parameters "
                              f"{_show(config)}: {err}") from err
    obj.load_state_dict(content["state"], source)
    return obj


def restore_checkpoint(obj: Any, path: str | os.PathLike) -> None:
    """Load ``path`` into ``obj``, which must have the stored class and parameters (the device may differ)."""
    content = _read(path)
    source = str(path)
    if content["class"] != _qualified_name(type(obj)):
        raise CheckpointError(f"{source}: holds a {_short(content['class'])} checkpoint, not a {type(obj).__name__}")
    ours = _encode_config(obj.get_params(), type(obj).__name__)
    theirs = content["config"]
    differences = [f"{key}={_show(theirs.get(key, '<missing>'))} in the checkpoint, {_show(value)} here"
                   for key, value in ours.items()
                   if key != "device" and not _config_equal(theirs.get(key, _MISSING), value)]
    differences += [f"{key} only in the checkpoint" for key in theirs if key not in ours]
    if differences:
        raise CheckpointError(f"{source}: the checkpoint's {type(obj).__name__} has other parameters: "
                              + "; ".join(differences))
    obj.load_state_dict(content["state"], source)


def state_digest(state: Any) -> str:
    """SHA-256 (hex) of a state: equal digests mean bit-identical states.

    Accepts the output of a ``state_dict()``, or a :class:`Stateful` object (its learned
    state, read without the checks of its ``state_dict``, so also for an agent between
    ``predict`` and ``update``). Tensors are hashed by dtype, shape and raw bytes, floats
    by their exact representation, dict keys in sorted order.
    """
    if isinstance(state, Stateful):
        state = Stateful.state_dict(state)
    digest = hashlib.sha256()
    _hash_into(digest, state)
    return digest.hexdigest()


def _write(path: str | os.PathLike, content: dict[str, Any]) -> Path:
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory; give a file name such as {path / 'agent.pt'}")
    if not path.parent.exists():
        raise CheckpointError(f"{path}: the directory {path.parent} does not exist")
    torch_version = str(torch.__version__)
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "torch_version": torch_version,
               "digest": state_digest([FORMAT, FORMAT_VERSION, torch_version, content]), "content": content}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def _read(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty (an interrupted copy?)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ... on bad files
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
        reason = next((line for line in lines if line.startswith("WeightsUnpickler error")), lines[0])
        reason = reason.split(". ")[0]  # the first sentence says what failed
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated, corrupted, or not written by "
                              f"bandits_lib; torch.load said: {reason[:200]})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a bandits_lib checkpoint (no {FORMAT!r} marker)")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('version')!r}, "
                              f"this library reads version {FORMAT_VERSION}")
    content = payload.get("content")
    if not isinstance(content, dict) or set(content) != {"class", "config", "state"}:
        raise CheckpointError(f"{path}: the checkpoint holds no class, configuration and state")
    try:
        digest = state_digest([FORMAT, FORMAT_VERSION, payload.get("torch_version"), content])
    except Exception as err:
        raise CheckpointError(f"{path}: the content cannot be hashed ({err})") from err
    if digest != payload.get("digest"):
        raise CheckpointError(f"{path}: the checksum does not match (the file was corrupted or edited)")
    if not isinstance(content["class"], str) or not isinstance(content["config"], dict):
        raise CheckpointError(f"{path}: malformed class name or configuration")
    return content


# ---------------------------------------------------------------------------- classes by name
def _known_class(name: str, source: str) -> type:
    """The class called ``name`` among the modules already imported (nothing is imported here)."""
    module_name, _, qualname = name.rpartition(".")
    obj: Any = sys.modules.get(module_name)
    for part in qualname.split(".") if obj is not None else ():
        obj = getattr(obj, part, None)
    if not isinstance(obj, type) or not hasattr(obj, "get_params"):
        raise CheckpointError(f"{source}: holds a {_short(name)} checkpoint, a class not known here "
                              "(import the module that defines it first)")
    return obj


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------- configuration
def _encode_config(value: Any, where: str) -> Any:
    """Constructor parameters as plain values; a parameter that is itself configured is stored
    with its class, parameters and state."""
    if value is None or isinstance(value, (bool, str, torch.dtype)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _encode(value, where)
    if isinstance(value, (list, tuple)):
        return tuple(_encode_config(v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        if _KIND in value:
            raise CheckpointError(f"{where}: a dict with the reserved key {_KIND!r} cannot be stored")
        return {k: _encode_config(v, f"{where}[{k!r}]") for k, v in value.items()}
    if hasattr(value, "get_params"):
        state = value.state_dict() if isinstance(value, Stateful) else None
        if isinstance(value, nn.Module):
            state = _encode(value, where)
        return {_KIND: "configured", "class": _qualified_name(type(value)),
                "params": _encode_config(value.get_params(), where), "state": state}
    raise CheckpointError(f"{where}: a parameter of type {type(value).__name__} cannot be stored")


def _decode_config(config: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {key: _decode_config_value(value, f"{source}: {key}") for key, value in config.items()}


def _decode_config_value(value: Any, where: str) -> Any:
    if isinstance(value, tuple):
        return tuple(_decode_config_value(v, where) for v in value)
    if isinstance(value, dict) and value.get(_KIND) == "configured":
        cls = _known_class(value["class"], where)
        obj = cls(**_decode_config(value["params"], where))
        if isinstance(obj, Stateful) and value["state"] is not None:
            obj.load_state_dict(value["state"], where)
        elif isinstance(obj, nn.Module) and value["state"] is not None:
            for action in _plan(obj, value["state"], where, lambda v: None, torch.device("cpu")):
                action()
        return obj
    if isinstance(value, dict) and _KIND not in value:
        return {k: _decode_config_value(v, where) for k, v in value.items()}
    return _decode(value, torch.device("cpu"))


def _config_equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_config_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_config_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return a == b
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------- encoding
def _encode(value: Any, where: str) -> Any:
    """A copy of ``value`` made only of what ``torch.load(weights_only=True)`` accepts."""
    if value is None or isinstance(value, (bool, int, float, str, torch.dtype)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.device):
        return {_KIND: "device", "value": str(value)}
    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
            raise CheckpointError(f"{where}: a numpy array of dtype {value.dtype} cannot be stored")
        return {_KIND: "ndarray", "value": torch.from_numpy(np.array(value, copy=True))}
    if isinstance(value, np.random.Generator):
        return {_KIND: "numpy_generator", "state": _plain_copy(value.bit_generator.state)}
    if isinstance(value, torch.Generator):
        return {_KIND: "torch_generator", "state": value.get_state(), "device": str(value.device)}
    if isinstance(value, nn.Module):
        return {_KIND: "module", "state": {k: v.detach().clone() for k, v in value.state_dict().items()}}
    if isinstance(value, torch.optim.Optimizer):
        return {_KIND: "optimizer", "state": _encode(value.state_dict(), where)}
    if isinstance(value, Stateful):
        return {_KIND: "object", **value.state_dict()}
    if isinstance(value, deque):
        return {_KIND: "deque", "items": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)],
                "maxlen": value.maxlen}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if any(item is _SKIP for item in items):
            raise CheckpointError(f"{where}: a container of functions cannot be stored")
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        if _KIND in value:
            raise CheckpointError(f"{where}: a dict with the reserved key {_KIND!r} cannot be stored")
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            raise CheckpointError(f"{where}: only dicts with str or int keys can be stored")
        items = {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        if any(item is _SKIP for item in items.values()):
            raise CheckpointError(f"{where}: a dict of functions cannot be stored")
        return items
    if inspect.isroutine(value) or isinstance(value, type):
        return _SKIP  # code, not state
    raise CheckpointError(f"{where}: a value of type {type(value).__module__}.{type(value).__qualname__} "
                          "cannot be checkpointed (not a tensor, module, optimizer, generator, number, "
                          "string, container or Stateful object)")


def _plain_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {_KIND: "ndarray", "value": torch.from_numpy(np.array(value, copy=True))}
    return value


def _is_kind(value: Any, kind: str) -> bool:
    return isinstance(value, dict) and value.get(_KIND) == kind


def _decode(value: Any, device: torch.device) -> Any:
    """A fresh live value from an encoded one (for attributes the target does not hold yet)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().to(device)
    if isinstance(value, list):
        return [_decode(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v, device) for v in value)
    if isinstance(value, dict):
        kind = value.get(_KIND)
        if kind is None:
            return {k: _decode(v, device) for k, v in value.items()}
        if kind == "device":
            return torch.device(value["value"])
        if kind == "ndarray":
            return value["value"].numpy().copy()
        if kind == "deque":
            return deque((_decode(v, device) for v in value["items"]), maxlen=value["maxlen"])
        if kind == "numpy_generator":
            bit_generator = getattr(np.random, value["state"]["bit_generator"])()
            bit_generator.state = value["state"]
            return np.random.Generator(bit_generator)
        raise CheckpointError(f"cannot create a new {kind} from a checkpoint; the object must exist already")
    return value


def _device_of(obj: Any) -> torch.device:
    device = getattr(obj, "device", None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


# ---------------------------------------------------------------------------- validate, then apply
def _plan_state(obj: Stateful, state: Any, where: str, device: torch.device) -> list[Action]:
    """Check ``state`` against ``obj``; return the actions that apply it."""
    if not isinstance(state, Mapping) or set(state) != {"class", "attributes"}:
        raise CheckpointError(f"{where}: not the state of a {type(obj).__name__} (expected 'class' and 'attributes')")
    if state["class"] != _qualified_name(type(obj)):
        raise CheckpointError(f"{where}: holds the state of a {_short(state['class'])}, not a {type(obj).__name__}")
    encoded = state["attributes"]
    if not isinstance(encoded, dict):
        raise CheckpointError(f"{where}: expected a dict of attributes, got {type(encoded).__name__}")
    current = obj._state_names()
    missing = sorted(set(current) - set(encoded))
    if missing:
        raise CheckpointError(f"{where}: the checkpoint lacks {', '.join(missing)} of {type(obj).__name__} "
                              "(written by another version of the library?)")
    actions: list[Action] = []
    for name, value in encoded.items():
        def assign(new: Any, name: str = name) -> None:
            setattr(obj, name, new)

        actions += _plan(getattr(obj, name, _MISSING), value, f"{where}.{name}", assign, device)
    return actions


def _plan(target: Any, encoded: Any, where: str, assign: Callable[[Any], None], device: torch.device) -> list[Action]:
    if target is _MISSING or target is None or encoded is None:
        decoded = _decode(encoded, device)
        return [lambda: assign(decoded)]
    if isinstance(target, torch.Tensor):
        source = _tensor_like(target, encoded, where)
        return [lambda: _copy_into(target, source)]
    if isinstance(target, nn.Module):
        return _plan_module(target, encoded, where)
    if isinstance(target, torch.optim.Optimizer):
        return _plan_optimizer(target, encoded, where)
    if isinstance(target, Stateful):
        if not _is_kind(encoded, "object"):
            raise CheckpointError(f"{where}: expected the state of a {type(target).__name__}, got {_show(encoded)}")
        return target._plan_load({k: v for k, v in encoded.items() if k != _KIND}, where, device)
    if isinstance(target, np.random.Generator):
        if not _is_kind(encoded, "numpy_generator"):
            raise CheckpointError(f"{where}: expected a numpy generator state")
        state = encoded["state"]
        name = type(target.bit_generator).__name__
        if not isinstance(state, dict) or state.get("bit_generator") != name:
            raise CheckpointError(f"{where}: expected the state of a {name} bit generator")
        probe = type(target.bit_generator)()
        try:
            probe.state = state
        except (TypeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{where}: invalid {name} state: {err}") from err
        return [lambda: setattr(target.bit_generator, "state", state)]
    if isinstance(target, torch.Generator):
        if not _is_kind(encoded, "torch_generator") or not isinstance(encoded["state"], torch.Tensor):
            raise CheckpointError(f"{where}: expected a torch generator state")
        current = target.get_state()
        if encoded["state"].shape != current.shape or encoded["state"].dtype != current.dtype:
            raise CheckpointError(f"{where}: generator state of shape {tuple(encoded['state'].shape)}, "
                                  f"expected {tuple(current.shape)}")
        return [lambda: target.set_state(encoded["state"].clone())]
    if isinstance(target, torch.device):
        if not _is_kind(encoded, "device"):
            raise CheckpointError(f"{where}: expected a device")
        return []
    if isinstance(target, np.ndarray):
        if not _is_kind(encoded, "ndarray") or not isinstance(encoded["value"], torch.Tensor):
            raise CheckpointError(f"{where}: expected an array")
        source = encoded["value"]
        if tuple(source.shape) != target.shape or source.numpy().dtype != target.dtype:
            raise CheckpointError(f"{where}: array of shape {tuple(source.shape)} and dtype {source.numpy().dtype}, "
                                  f"expected shape {target.shape} and dtype {target.dtype}")
        return [lambda: assign(source.numpy().copy())]
    if isinstance(target, deque):
        return _plan_deque(target, encoded, where, device)
    if isinstance(target, list):
        if not isinstance(encoded, list):
            raise CheckpointError(f"{where}: expected a list, got {type(encoded).__name__}")
        if _all_plain(target) and _all_plain(encoded):
            _check_plain_types(target, encoded, where)
            values = list(encoded)
            return [lambda: target.__setitem__(slice(None), values)]
        if len(target) != len(encoded):
            raise CheckpointError(f"{where}: list of length {len(encoded)}, expected {len(target)}")
        actions: list[Action] = []
        for i, (t, e) in enumerate(zip(target, encoded)):
            actions += _plan(t, e, f"{where}[{i}]", lambda v, i=i: target.__setitem__(i, v), device)
        return actions
    if isinstance(target, tuple):
        if not isinstance(encoded, tuple) or len(encoded) != len(target):
            raise CheckpointError(f"{where}: expected a tuple of length {len(target)}, got {_show(encoded)}")
        if not (_all_plain(target) and _all_plain(encoded)):
            raise CheckpointError(f"{where}: tuples of tensors or objects cannot be restored in place")
        _check_plain_types(list(target), list(encoded), where)
        return [lambda: assign(tuple(encoded))]
    if isinstance(target, dict):
        if not isinstance(encoded, dict) or _KIND in encoded:
            raise CheckpointError(f"{where}: expected a dict, got {_show(encoded)}")
        if set(target) != set(encoded):
            raise CheckpointError(f"{where}: keys {sorted(map(str, encoded))}, expected {sorted(map(str, target))}")
        actions = []
        for key in target:
            actions += _plan(target[key], encoded[key], f"{where}[{key!r}]",
                             lambda v, key=key: target.__setitem__(key, v), device)
        return actions
    if _is_plain(target):
        if not _is_plain(encoded) or not _same_plain_type(target, encoded):
            raise CheckpointError(f"{where}: expected a {type(target).__name__}, got {_show(encoded)}")
        return [lambda: assign(encoded)]
    raise CheckpointError(f"{where}: cannot restore a value of type {type(target).__name__}")


def _plan_deque(target: deque, encoded: Any, where: str, device: torch.device) -> list[Action]:
    if not _is_kind(encoded, "deque") or not isinstance(encoded.get("items"), list):
        raise CheckpointError(f"{where}: expected a deque, got {_show(encoded)}")
    if encoded.get("maxlen") != target.maxlen:
        raise CheckpointError(f"{where}: deque of maxlen {encoded.get('maxlen')}, expected {target.maxlen}")
    items = [_decode(v, device) for v in encoded["items"]]
    if target:
        for i, item in enumerate(items):
            _check_same_structure(target[0], item, f"{where}[{i}]")

    def refill() -> None:
        target.clear()
        target.extend(items)

    return [refill]


def _tensor_like(target: torch.Tensor, encoded: Any, where: str) -> torch.Tensor:
    if not isinstance(encoded, torch.Tensor):
        raise CheckpointError(f"{where}: expected a tensor, got {_show(encoded)}")
    if encoded.shape != target.shape:
        raise CheckpointError(f"{where}: shape {tuple(encoded.shape)} in the checkpoint, {tuple(target.shape)} here")
    if encoded.dtype != target.dtype:
        raise CheckpointError(f"{where}: dtype {encoded.dtype} in the checkpoint, {target.dtype} here")
    if (encoded.is_floating_point() or encoded.is_complex()) and not bool(torch.isfinite(encoded).all()):
        raise CheckpointError(f"{where}: contains NaN or inf")
    return encoded


def _copy_into(target: torch.Tensor, source: torch.Tensor) -> None:
    with torch.no_grad():
        target.copy_(source)


def _check_same_structure(reference: Any, value: Any, where: str) -> None:
    """``value`` has the structure of ``reference`` (types, tensor shapes and dtypes)."""
    if isinstance(reference, torch.Tensor):
        _tensor_like(reference, value, where)
    elif isinstance(reference, (list, tuple)):
        if type(value) is not type(reference) or len(value) != len(reference):
            raise CheckpointError(f"{where}: expected a {type(reference).__name__} of length {len(reference)}")
        for i, (r, v) in enumerate(zip(reference, value)):
            _check_same_structure(r, v, f"{where}[{i}]")
    elif _is_plain(reference):
        if not _is_plain(value) or not _same_plain_type(reference, value):
            raise CheckpointError(f"{where}: expected a {type(reference).__name__}, got {_show(value)}")
    else:
        raise CheckpointError(f"{where}: cannot check a {type(reference).__name__}")


def _plan_module(module: nn.Module, encoded: Any, where: str) -> list[Action]:
    if not _is_kind(encoded, "module") or not isinstance(encoded.get("state"), dict):
        raise CheckpointError(f"{where}: expected the parameters of a {type(module).__name__}")
    state = encoded["state"]
    current = module.state_dict()
    if list(state) != list(current):
        raise CheckpointError(f"{where}: parameters {list(state)} in the checkpoint, {list(current)} here "
                              "(another network architecture?)")
    for key, tensor in current.items():
        _tensor_like(tensor, state[key], f"{where}.{key}")
    return [lambda: module.load_state_dict(state, strict=True)]


def _plan_optimizer(optimizer: torch.optim.Optimizer, encoded: Any, where: str) -> list[Action]:
    if not _is_kind(encoded, "optimizer") or not isinstance(encoded.get("state"), dict):
        raise CheckpointError(f"{where}: expected the state of a {type(optimizer).__name__}")
    state = encoded["state"]
    if set(state) != {"state", "param_groups"} or not isinstance(state["param_groups"], list):
        raise CheckpointError(f"{where}: expected 'state' and 'param_groups'")
    groups, saved_groups = optimizer.param_groups, state["param_groups"]
    if len(groups) != len(saved_groups):
        raise CheckpointError(f"{where}: {len(saved_groups)} parameter groups in the checkpoint, {len(groups)} here")
    params: dict[int, torch.Tensor] = {}
    for i, (group, saved) in enumerate(zip(groups, saved_groups)):
        if not isinstance(saved, dict) or set(saved) != set(group):
            raise CheckpointError(f"{where}.param_groups[{i}]: keys differ from {type(optimizer).__name__}'s")
        if not isinstance(saved["params"], list) or len(saved["params"]) != len(group["params"]):
            raise CheckpointError(f"{where}.param_groups[{i}]: {len(saved['params'])} parameters in the "
                                  f"checkpoint, {len(group['params'])} here")
        params.update(zip(saved["params"], group["params"]))
    if not isinstance(state["state"], dict) or not set(state["state"]) <= set(params):
        raise CheckpointError(f"{where}: state of unknown parameters")
    for index, entry in state["state"].items():
        if not isinstance(entry, dict):
            raise CheckpointError(f"{where}.state[{index}]: expected a dict")
        param = params[index]
        for key, value in entry.items():
            if isinstance(value, torch.Tensor) and value.numel() > 1 and value.shape != param.shape:
                raise CheckpointError(f"{where}.state[{index}][{key!r}]: shape {tuple(value.shape)}, "
                                      f"parameter shape {tuple(param.shape)}")
            if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise CheckpointError(f"{where}.state[{index}][{key!r}]: contains NaN or inf")
    return [lambda: optimizer.load_state_dict(state)]


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, torch.dtype))


def _all_plain(values: Any) -> bool:
    return all(_is_plain(v) for v in values)


def _same_plain_type(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return isinstance(a, float) == isinstance(b, float) or isinstance(a, float)
    return type(a) is type(b)


def _check_plain_types(target: list, encoded: list, where: str) -> None:
    for i, value in enumerate(encoded):
        if target and not _same_plain_type(target[0], value):
            raise CheckpointError(f"{where}[{i}]: expected a {type(target[0]).__name__}, got {_show(value)}")


# ---------------------------------------------------------------------------- hashing and messages
def _hash_into(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu").contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _hash_into(digest, key)
            _hash_into(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}".encode())
        for item in value:
            _hash_into(digest, item)
    elif isinstance(value, float):
        digest.update(b"F" + (repr(value) if math.isfinite(value) else str(value)).encode())
    elif value is None or isinstance(value, (bool, int, str, torch.dtype, torch.device)):
        digest.update(f"{type(value).__name__}:{value!s}|".encode())
    else:
        raise CheckpointError(f"cannot hash a value of type {type(value).__name__}")


def _short(name: Any) -> str:
    return str(name).rsplit(".", 1)[-1]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "CheckpointError", "Stateful", "save_checkpoint", "load_checkpoint", "restore_checkpoint", "read_checkpoint",
    "state_digest", "FORMAT", "FORMAT_VERSION",
]
