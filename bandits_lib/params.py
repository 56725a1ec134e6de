"""Hyperparameters the scikit-learn way: constructors store them, ``get_params`` reads them back.

A :class:`Configurable` object's constructor takes keyword hyperparameters and stores
each one, unchanged in meaning, under its own name (``self.alpha = alpha``). So the
parameters of any object can be read back from its constructor's signature, and a
fresh copy built from them:

* :meth:`Configurable.get_params` -- ``{name: value}`` for every constructor parameter;
* :meth:`Configurable.clone` -- a new, untrained object with the same parameters,
  some of them changed (``agent.clone(seed=3)`` is the agent of seed 3);

Checkpoints store ``get_params()`` to rebuild an object, experiments clone one agent per
seed, and the playground's sweep clones one agent per grid point.

Examples
--------
>>> from bandits_lib import LinUCBAgent
>>> agent = LinUCBAgent(n_arms=3, feature_dim=2, alpha=0.5)
>>> agent.get_params()["alpha"], agent.clone(alpha=2.0).alpha
(0.5, 2.0)

Taught in: CONTRIBUTING.md (conventions of the library).
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any, TypeVar

C = TypeVar("C", bound="Configurable")


@cache
def parameter_names(cls: type) -> tuple[str, ...]:
    """Names of the constructor parameters of ``cls`` (``self`` excluded), in order.

    Raises ``TypeError`` for a constructor with ``*args`` or ``**kwargs``: its
    parameters could not be read back.
    """
    names = []
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{cls.__name__}.__init__ takes *{name}: a Configurable must name every parameter")
        names.append(name)
    return tuple(names)


class Configurable:
    """An object rebuilt from its constructor parameters (see the module docstring)."""

    def get_params(self) -> dict[str, Any]:
        """Every constructor parameter and its value, ``{name: value}`` (in signature order)."""
        try:
            return {name: getattr(self, name) for name in parameter_names(type(self))}
        except AttributeError as err:
            raise TypeError(f"{type(self).__name__} does not store a constructor parameter under its own name "
                            f"({err})") from err

    def _parameter_names(self) -> tuple[str, ...]:
        return parameter_names(type(self))

    def clone(self: C, **changes: Any) -> C:
        """A new object of the same class and parameters, with ``changes`` applied.

        Nothing learned is copied: the clone is what the constructor builds. Raises
        ``TypeError`` naming any change that is not a constructor parameter.
        """
        names = parameter_names(type(self))
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no parameter {', '.join(unknown)}; its parameters are "
                            f"{', '.join(names)}")
        return type(self)(**{**self.get_params(), **changes})

    def __repr__(self) -> str:
        shown = []
        defaults = inspect.signature(type(self).__init__).parameters
        for name, value in self.get_params().items():
            default = defaults[name].default
            if default is inspect.Parameter.empty or not _same(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(value: Any, default: Any) -> bool:
    if type(value).__name__ == "device":  # torch.device("cpu") stands for the default "cpu"
        value = str(value)
    try:
        return bool(value == default) and isinstance(value, type(default))
    except Exception:  # e.g. tensors: ambiguous truth value
        return False


__all__ = ["Configurable", "parameter_names"]
