r"""Checkpoints: save an agent, a simulator or an interaction stream, and load it back.

A checkpoint is everything needed to continue a run as if it had never stopped: for an
agent its constructor hyperparameters (so that ``load`` can rebuild the object), the
network parameters, the optimiser state (Adam's moments and step counts), the kept
:math:`A^{-1}` (or :math:`\operatorname{diag}(A)`, or LinUCB's :math:`A_a^{-1}, b_a,
\hat\theta_a`), the step counters and the states of the random generators. Resuming a
run from a checkpoint taken at step ``t`` reproduces the uninterrupted run bit for bit
(tested for every agent).

The state is discovered, not listed: an agent's attributes are walked and each value
is stored by its type (tensors, ``nn.Module``, ``torch.optim.Optimizer``, numpy and
torch generators, the library's own state objects such as
:class:`~bandits_lib.exploration.FullConfidence`, numbers, strings and containers of
them). Methods and functions are code, not state, and are skipped; a value of any
other type makes ``save`` fail with an error naming the attribute, rather than write a
checkpoint that would not resume exactly.

Rules
-----
* **Safe to load.** Files are written with :func:`torch.save` and read with
  ``torch.load(..., weights_only=True)``: only tensors, numbers, strings, dtypes,
  devices and plain containers are ever unpickled, never arbitrary objects (numpy
  generator states are plain dicts of ints and strings).
* **Checked before use.** The file carries a SHA-256 digest of its state: a truncated
  or corrupted file, a file of another kind (another agent class, a simulator) or of
  another shape (another ``feature_dim``, another network) raises
  :class:`CheckpointError` (a ``ValueError``) that names the file and the problem.
* **All or nothing.** Loading first checks every key, shape and dtype, then applies;
  a rejected load changes nothing.
* **Atomic writes.** A checkpoint is written to a temporary file and renamed, so an
  interrupted ``save`` never leaves a half-written checkpoint under the target name.
* **Not between predict and update.** ``state_dict``/``save`` refuse while a
  ``predict`` awaits its ``update`` (the pending decision holds intermediate tensors
  that are not part of the learned state): call ``update`` first. A successful load
  discards a pending decision.
* **The oracle's world is not copied.** :class:`~bandits_lib.agents.OracleAgent`
  reads the true CTRs of a live simulator, and a copy would not follow a market shock
  happening in the original. Its checkpoint stores only a fingerprint of that
  simulator (sizes, seed, catalogue, users); ``OracleAgent.load(path, simulator=sim)``
  takes the simulator to read and checks it is the same shop. Save the simulator
  itself with ``sim.save(path)``.

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
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .simulator import InteractionStream, ZooplusSimulator

#: Marker of every checkpoint file written by this module.
FORMAT = "bandits_lib.checkpoint"
#: Version of the layout below; files of another version are refused.
FORMAT_VERSION = 1

# Attributes of an agent that are not part of its learned state.
_AGENT_TRANSIENT = frozenset({"_pending", "_checked", "_init_args", "device"})
_KIND = "__kind__"


class CheckpointError(ValueError):
    """A checkpoint cannot be written, read or applied; the message says why (and which file)."""


Action = Callable[[], None]


# ---------------------------------------------------------------------------- public API
def save_checkpoint(obj: Any, path: str | os.PathLike) -> Path:
    """Write the full state of ``obj`` (an agent, a simulator or a stream) to ``path``.

    Returns the path written. The write is atomic (temporary file, then rename).
    """
    return _write(path, state_dict(obj))


def load_checkpoint(path: str | os.PathLike, **kwargs: Any) -> Any:
    """Rebuild whatever ``path`` holds: an agent, a :class:`ZooplusSimulator` or an :class:`InteractionStream`.

    ``kwargs`` are passed on to the agent's ``load`` (``device``, ``simulator`` for the
    oracle, expected hyperparameters).
    """
    state = _read(path)
    kind = state["kind"]
    if kind == "agent":
        from .agents.base import BanditAgent

        return _load_agent_state(BanditAgent, state, path, kwargs)
    if kwargs:
        raise TypeError(f"load_checkpoint() takes no keyword arguments for a {kind} checkpoint, got {sorted(kwargs)}")
    if kind == "simulator":
        return _load_simulator_state(state, path)
    return _stream_from_state(state, path)


def state_dict(obj: Any) -> dict[str, Any]:
    """The full state of an agent, a simulator or a stream, as a dict of plain values and tensors (copies)."""
    from .agents.base import BanditAgent

    if isinstance(obj, BanditAgent):
        return agent_state_dict(obj)
    if isinstance(obj, ZooplusSimulator):
        return simulator_state_dict(obj)
    if isinstance(obj, InteractionStream):
        return stream_state_dict(obj)
    raise TypeError(f"obj must be a BanditAgent, ZooplusSimulator or InteractionStream, got {type(obj).__name__}")


def state_digest(state: Any) -> str:
    """SHA-256 (hex) of a state: equal digests mean bit-identical states.

    Accepts the output of any ``state_dict()``, or a simulator or stream (whose
    ``state_dict()`` is taken), or an agent (its learned state and hyperparameter
    attributes, also between ``predict`` and ``update``). Tensors are hashed by dtype,
    shape and raw bytes; floats by their exact representation; dict keys in sorted order.
    """
    from .agents.base import BanditAgent

    if isinstance(state, BanditAgent):  # also between predict and update: the learned state only
        state = _encode_attributes(state, _AGENT_TRANSIENT, type(state).__name__)
    elif not isinstance(state, (dict, list, tuple)):
        state = state_dict(state)
    digest = hashlib.sha256()
    _hash_into(digest, state)
    return digest.hexdigest()


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The verified state stored in ``path`` (format, version and digest checked)."""
    return _read(path)


# ---------------------------------------------------------------------------- agents
def agent_state_dict(agent: Any) -> dict[str, Any]:
    """State of a :class:`~bandits_lib.agents.BanditAgent` (see the module docstring)."""
    if getattr(agent, "_pending", None) is not None:
        raise CheckpointError(
            f"cannot checkpoint {type(agent).__name__} between predict() and update(): "
            "the pending decision is not part of the learned state; call update() first"
        )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": "agent",
        "class": _qualified_name(type(agent)),
        "config": _config_of(agent),
        "attributes": _encode_attributes(agent, _AGENT_TRANSIENT, type(agent).__name__),
    }


def load_agent_state_dict(agent: Any, state: Mapping[str, Any], source: str = "state") -> None:
    """Apply ``state`` to ``agent`` in place, all or nothing.

    Raises :class:`CheckpointError` (naming ``source``) when the state belongs to
    another class, other hyperparameters (the device excepted) or other shapes.
    """
    cls = type(agent)
    _check_header(state, None, source)
    if state["kind"] != "agent":
        raise CheckpointError(f"{source}: holds a {_describe(state)} checkpoint, not a {cls.__name__}")
    if state["class"] != _qualified_name(cls):
        raise CheckpointError(f"{source}: holds a {_short(state['class'])} checkpoint, not a {cls.__name__}")
    ours = _config_of(agent)
    differences = [
        f"{key}={_show(state['config'].get(key, '<missing>'))} in the checkpoint, {_show(value)} here"
        for key, value in ours.items()
        if key != "device" and not _config_equal(state["config"].get(key, _MISSING), value)
    ]
    differences += [f"{key} only in the checkpoint" for key in state["config"] if key not in ours]
    if differences:
        raise CheckpointError(f"{source}: the checkpoint's {cls.__name__} has other hyperparameters: "
                              + "; ".join(differences))
    actions = _plan_attributes(agent, state["attributes"], source, device=agent.device)
    for action in actions:
        action()
    agent._pending = None


def _load_agent_state(cls: type, state: dict[str, Any], path: Any, kwargs: dict[str, Any]) -> Any:
    source = str(path)
    if state["kind"] != "agent":
        raise CheckpointError(f"{source}: holds a {state['kind']} checkpoint, not a {cls.__name__}")
    stored = _agent_class(state["class"])
    if stored is None:
        raise CheckpointError(f"{source}: holds a {_short(state['class'])} checkpoint, a class not known here "
                              "(import the module that defines it first)")
    if not issubclass(stored, cls):
        raise CheckpointError(f"{source}: holds a {stored.__name__} checkpoint, not a {cls.__name__}")
    device = kwargs.pop("device", None)
    simulator = kwargs.pop("simulator", None)
    config = dict(state["config"])
    references = [key for key, value in config.items() if _is_kind(value, "simulator_ref")]
    for key in references:
        if simulator is None:
            raise CheckpointError(
                f"{source}: a {stored.__name__} reads a live simulator; pass simulator=<the ZooplusSimulator "
                "it plays in> to load()"
            )
        _check_simulator_reference(simulator, config[key], f"{source}: simulator")
        config[key] = simulator
    if simulator is not None and not references:
        raise TypeError(f"simulator= is only for agents that read a simulator; {stored.__name__} does not")
    if device is not None:
        if "device" not in config:
            raise TypeError(f"{stored.__name__} takes no device")
        config["device"] = device
    arguments = {key: _decode(value, torch.device("cpu")) for key, value in config.items()}
    try:
        signature = inspect.signature(stored.__init__)
        bound = inspect.BoundArguments(signature, OrderedDict([("self", None), *arguments.items()]))
        agent = stored(*bound.args[1:], **bound.kwargs)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: cannot rebuild {stored.__name__} from the stored hyperparameters "
                              f"{_show(arguments)}: {err}") from err
    for key, expected in kwargs.items():
        if hasattr(agent, key):
            actual = getattr(agent, key)
        elif key in arguments:
            actual = arguments[key]
        else:
            raise TypeError(f"{stored.__name__} has no hyperparameter or attribute {key!r} to compare")
        if not _config_equal(_sanitize_config(expected), _sanitize_config(actual)):
            raise CheckpointError(f"{source}: the checkpoint's {stored.__name__} has {key}={_show(actual)}, "
                                  f"expected {_show(expected)}")
    load_agent_state_dict(agent, state, source)
    return agent


def load_agent(cls: type, path: str | os.PathLike, **kwargs: Any) -> Any:
    """``cls.load(path, ...)``: rebuild an agent of class ``cls`` (or a subclass) from ``path``."""
    return _load_agent_state(cls, _read(path), path, dict(kwargs))


def restore_agent(agent: Any, path: str | os.PathLike) -> None:
    """``agent.restore(path)``: load ``path`` into an existing agent, all or nothing."""
    load_agent_state_dict(agent, _read(path), str(path))


def capture_init_args(cls: type, args: tuple, kwargs: dict) -> dict[str, Any] | None:
    """The constructor arguments of a new agent, defaults applied (``None`` if they do not bind).

    Called from ``BanditAgent.__new__``; unpickling and ``copy.deepcopy`` call
    ``__new__`` without arguments and restore the recorded ones from the instance dict.
    """
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(arguments)))  # self
    return arguments


def _config_of(agent: Any) -> dict[str, Any]:
    arguments = getattr(agent, "_init_args", None)
    if arguments is None:
        raise CheckpointError(f"{type(agent).__name__} does not know its constructor arguments "
                              "(was it created by calling the class?)")
    return {key: _sanitize_config(value, f"{type(agent).__name__}({key}=...)") for key, value in arguments.items()}


def _sanitize_config(value: Any, where: str = "value") -> Any:
    if value is None or isinstance(value, (bool, str, torch.dtype)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, (list, tuple)):
        return tuple(_sanitize_config(v, where) for v in value)
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _sanitize_config(v, where) for k, v in value.items()}
    if isinstance(value, ZooplusSimulator):
        return {_KIND: "simulator_ref", "fingerprint": simulator_fingerprint(value)}
    raise CheckpointError(f"{where}: a constructor argument of type {type(value).__name__} cannot be stored")


def _config_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_config_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_config_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.device) or isinstance(b, torch.device):
        return str(a) == str(b)
    return type(a) is type(b) and a == b or (
        isinstance(a, numbers.Real) and isinstance(b, numbers.Real) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b
    )


def _agent_class(name: str) -> type | None:
    from .agents.base import BanditAgent

    pending, seen = [BanditAgent], set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if _qualified_name(cls) == name:
            return cls
        pending.extend(cls.__subclasses__())
    return None


# ---------------------------------------------------------------------------- simulator
def simulator_fingerprint(simulator: ZooplusSimulator) -> str:
    """Short digest of a shop: sizes, seed, catalogue and every user's persona."""
    digest = hashlib.sha256()
    digest.update(repr((simulator.n_products, simulator.n_users, simulator.seed)).encode())
    digest.update("|".join(map(str, simulator.products["category"])).encode())
    digest.update("|".join(simulator.user_to_persona_map[u] for u in range(simulator.n_users)).encode())
    return digest.hexdigest()[:16]


def simulator_state_dict(simulator: ZooplusSimulator) -> dict[str, Any]:
    """State of a :class:`ZooplusSimulator`: its sizes and seed, random generator, preferences and shock."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": "simulator",
        "class": _qualified_name(type(simulator)),
        "config": {"n_products": simulator.n_products, "n_users": simulator.n_users, "seed": simulator.seed},
        "fingerprint": simulator_fingerprint(simulator),
        "attributes": {
            "rng": _encode(simulator.rng, "rng"),
            "personas": _encode(simulator.personas, "personas"),
            "shocked": bool(simulator.shocked),
            "personas_before_shock": _encode(getattr(simulator, "personas_before_shock", None), "before"),
        },
    }


def load_simulator_state_dict(simulator: ZooplusSimulator, state: Mapping[str, Any], source: str = "state") -> None:
    """Apply ``state`` to ``simulator`` in place, all or nothing (same shop required)."""
    _check_header(state, "simulator", source)
    fingerprint = simulator_fingerprint(simulator)
    if state["fingerprint"] != fingerprint or state["config"] != {
        "n_products": simulator.n_products, "n_users": simulator.n_users, "seed": simulator.seed
    }:
        raise CheckpointError(f"{source}: the checkpoint is of another shop ({_show(state['config'])}), "
                              f"not ZooplusSimulator(n_products={simulator.n_products}, "
                              f"n_users={simulator.n_users}, seed={simulator.seed})")
    attributes = state["attributes"]
    if set(attributes) != {"rng", "personas", "shocked", "personas_before_shock"}:
        raise CheckpointError(f"{source}: simulator state has keys {sorted(attributes)}")
    actions = _plan(simulator.rng, attributes["rng"], f"{source}: rng", lambda v: None, torch.device("cpu"))
    personas = _check_preferences(attributes["personas"], f"{source}: personas")
    before = attributes["personas_before_shock"]
    if before is not None:
        before = _check_preferences(before, f"{source}: personas_before_shock")
    shocked = attributes["shocked"]
    if not isinstance(shocked, bool):
        raise CheckpointError(f"{source}: shocked must be a bool, got {_show(shocked)}")
    for action in actions:
        action()
    simulator.personas = personas
    simulator.shocked = shocked
    if before is None:
        simulator.__dict__.pop("personas_before_shock", None)
    else:
        simulator.personas_before_shock = before


def _check_preferences(value: Any, where: str) -> dict[str, dict[str, float]]:
    from .simulator import CATEGORIES, PERSONAS

    if not isinstance(value, dict) or list(value) != list(PERSONAS):
        raise CheckpointError(f"{where}: expected preferences of the personas {PERSONAS}")
    out = {}
    for persona, prefs in value.items():
        if not isinstance(prefs, dict) or not set(prefs) <= set(CATEGORIES):
            raise CheckpointError(f"{where}[{persona!r}]: expected a dict of categories of {CATEGORIES}")
        for category, ctr in prefs.items():
            if not isinstance(ctr, float) or not 0.0 <= ctr <= 1.0:
                raise CheckpointError(f"{where}[{persona!r}][{category!r}]: expected a CTR in [0, 1], got {ctr!r}")
        out[persona] = dict(prefs)
    return out


def _load_simulator_state(state: dict[str, Any], path: Any) -> ZooplusSimulator:
    source = str(path)
    if state["kind"] != "simulator":
        raise CheckpointError(f"{source}: holds a {_describe(state)} checkpoint, not a ZooplusSimulator")
    config = state["config"]
    try:
        simulator = ZooplusSimulator(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: cannot rebuild ZooplusSimulator from {_show(config)}: {err}") from err
    load_simulator_state_dict(simulator, state, source)
    return simulator


def load_simulator(path: str | os.PathLike) -> ZooplusSimulator:
    """``ZooplusSimulator.load(path)``."""
    return _load_simulator_state(_read(path), path)


def restore_simulator(simulator: ZooplusSimulator, path: str | os.PathLike) -> None:
    """``simulator.restore(path)``: load ``path`` into an existing simulator of the same shop."""
    state = _read(path)
    if state["kind"] != "simulator":
        raise CheckpointError(f"{path}: holds a {_describe(state)} checkpoint, not a ZooplusSimulator")
    load_simulator_state_dict(simulator, state, str(path))


def _check_simulator_reference(simulator: Any, reference: Mapping[str, Any], where: str) -> None:
    if not isinstance(simulator, ZooplusSimulator):
        raise TypeError(f"simulator must be a ZooplusSimulator, got {type(simulator).__name__}")
    if simulator_fingerprint(simulator) != reference["fingerprint"]:
        raise CheckpointError(f"{where}: this ZooplusSimulator(n_products={simulator.n_products}, "
                              f"n_users={simulator.n_users}, seed={simulator.seed}) is not the shop "
                              "the agent was saved with")


# ---------------------------------------------------------------------------- streams
def stream_state_dict(stream: InteractionStream) -> dict[str, Any]:
    """State of an :class:`InteractionStream`: its three arrays."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": "stream",
        "class": _qualified_name(type(stream)),
        "attributes": {name: torch.from_numpy(np.array(getattr(stream, name), copy=True))
                       for name in ("users", "personas", "uniforms")},
    }


def _stream_from_state(state: dict[str, Any], path: Any) -> InteractionStream:
    source = str(path)
    if state["kind"] != "stream":
        raise CheckpointError(f"{source}: holds a {_describe(state)} checkpoint, not an InteractionStream")
    attributes = state["attributes"]
    expected = {"users": torch.int64, "personas": torch.int64, "uniforms": torch.float64}
    if set(attributes) != set(expected):
        raise CheckpointError(f"{source}: stream state has keys {sorted(attributes)}, expected {sorted(expected)}")
    lengths = set()
    for name, dtype in expected.items():
        value = attributes[name]
        if not isinstance(value, torch.Tensor) or value.dtype != dtype or value.ndim != 1:
            raise CheckpointError(f"{source}: {name} must be a 1-D {dtype} tensor")
        lengths.add(value.shape[0])
    if len(lengths) != 1:
        raise CheckpointError(f"{source}: users, personas and uniforms have different lengths {sorted(lengths)}")
    return InteractionStream(**{name: attributes[name].numpy().copy() for name in expected})


def load_stream(path: str | os.PathLike) -> InteractionStream:
    """``InteractionStream.load(path)``."""
    return _stream_from_state(_read(path), path)


# ---------------------------------------------------------------------------- encoding
_SKIP = object()
_MISSING = object()


def _encode_attributes(obj: Any, exclude: frozenset[str], where: str) -> dict[str, Any]:
    out = {}
    for name, value in vars(obj).items():
        if name in exclude:
            continue
        encoded = _encode(value, f"{where}.{name}")
        if encoded is not _SKIP:
            out[name] = encoded
    return out


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
    if isinstance(value, ZooplusSimulator):
        return {_KIND: "simulator_ref", "fingerprint": simulator_fingerprint(value)}
    if isinstance(value, deque):
        items = [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return {_KIND: "deque", "items": items, "maxlen": value.maxlen}
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
    if type(value).__module__.startswith("bandits_lib.") and hasattr(value, "__dict__"):
        return {_KIND: "object", "class": _qualified_name(type(value)),
                "attributes": _encode_attributes(value, frozenset(), where)}
    raise CheckpointError(f"{where}: a value of type {type(value).__module__}.{type(value).__qualname__} "
                          "cannot be checkpointed (not a tensor, module, optimizer, generator, number, "
                          "string, container or bandits_lib state object)")


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


# ---------------------------------------------------------------------------- validate, then apply
def _plan_attributes(obj: Any, encoded: Any, where: str, device: torch.device) -> list[Action]:
    """Check ``encoded`` against the attributes of ``obj``; return the actions that apply it."""
    if not isinstance(encoded, dict):
        raise CheckpointError(f"{where}: expected a dict of attributes, got {type(encoded).__name__}")
    current = _encode_names(obj)
    missing = sorted(set(current) - set(encoded))
    if missing:
        raise CheckpointError(f"{where}: the checkpoint lacks {', '.join(missing)} of {type(obj).__name__} "
                              "(written by another version of the library?)")
    actions: list[Action] = []
    for name, value in encoded.items():
        target = getattr(obj, name, _MISSING)

        def assign(new: Any, name: str = name) -> None:
            setattr(obj, name, new)

        actions += _plan(target, value, f"{where}.{name}", assign, device)
    return actions


def _encode_names(obj: Any) -> list[str]:
    from .agents.base import BanditAgent

    exclude = _AGENT_TRANSIENT if isinstance(obj, BanditAgent) else frozenset()
    return [name for name, value in vars(obj).items()
            if name not in exclude and not (inspect.isroutine(value) or isinstance(value, type))]


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
    if isinstance(target, ZooplusSimulator):
        if not _is_kind(encoded, "simulator_ref"):
            raise CheckpointError(f"{where}: expected a reference to a simulator")
        _check_simulator_reference(target, encoded, where)
        return []
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
    if hasattr(target, "__dict__") and type(target).__module__.startswith("bandits_lib."):
        if not _is_kind(encoded, "object") or encoded.get("class") != _qualified_name(type(target)):
            raise CheckpointError(f"{where}: expected the state of a {type(target).__name__}, "
                                  f"got {_describe(encoded) if isinstance(encoded, dict) else _show(encoded)}")
        return _plan_attributes(target, encoded["attributes"], where, device)
    raise CheckpointError(f"{where}: cannot restore a value of type {type(target).__name__}")


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


# ---------------------------------------------------------------------------- files
def _write(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory; give a file name such as {path / 'agent.pt'}")
    if not path.parent.exists():
        raise CheckpointError(f"{path}: the directory {path.parent} does not exist")
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "digest": state_digest(state),
               "torch_version": str(torch.__version__), "state": state}
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
    state = payload.get("state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the checkpoint holds no state")
    try:
        digest = state_digest(state)
    except Exception as err:
        raise CheckpointError(f"{path}: the state cannot be hashed ({err})") from err
    if digest != payload.get("digest"):
        raise CheckpointError(f"{path}: the checksum does not match (the file was corrupted or edited)")
    _check_header(state, None, str(path))
    return state


def _check_header(state: Any, kind: str | None, source: str) -> None:
    if not isinstance(state, Mapping) or state.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not a bandits_lib state (no {FORMAT!r} marker)")
    if state.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{source}: state version {state.get('version')!r}, expected {FORMAT_VERSION}")
    if state.get("kind") not in ("agent", "simulator", "stream"):
        raise CheckpointError(f"{source}: unknown kind of state {state.get('kind')!r}")
    if kind is not None and state["kind"] != kind:
        raise CheckpointError(f"{source}: holds a {_describe(state)} checkpoint, not a {kind} checkpoint")
    required = {"agent": ("class", "config", "attributes"), "simulator": ("config", "fingerprint", "attributes"),
                "stream": ("attributes",)}[state["kind"]]
    for key in required:
        if key not in state:
            raise CheckpointError(f"{source}: the state lacks {key!r}")


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


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _short(name: Any) -> str:
    return str(name).rsplit(".", 1)[-1]


def _describe(state: Mapping[str, Any]) -> str:
    if state.get("kind") == "agent":
        return _short(state.get("class"))
    return str(state.get(_KIND, state.get("kind", "unknown")))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "CheckpointError", "save_checkpoint", "load_checkpoint", "read_checkpoint", "state_dict", "state_digest",
    "agent_state_dict", "load_agent_state_dict", "simulator_state_dict", "load_simulator_state_dict",
    "stream_state_dict", "simulator_fingerprint", "FORMAT", "FORMAT_VERSION",
]
