"""`Optimizer`: the base class every update rule (SGD, Adam, ...) builds on.

An optimizer holds *parameter groups*: dicts with a list of parameters under "params" and that group's
hyperparameters ("lr", "momentum", ...). Each parameter also gets a small *state* dict (momentum buffer,
Adam's moments, the step count) the first time it is updated.

A training step, in this order:

    optimizer.zero_grad()      # forget last step's gradients (leaves accumulate until told otherwise)
    loss.backward()            # fill p.grad
    clip_grad_norm_(params, 1) # optional, always between backward() and step()
    optimizer.step()           # p.data -= (update computed from p.grad and the state)

Updates happen IN PLACE on `p.data` (modules may hold views of it), and parameters whose `.grad` is None
are skipped (no gradient flowed to them this step).

`state_dict()` gives plain values only (NumPy arrays and Python scalars, no objects), so a checkpoint can
store it without pickle. Its layout follows PyTorch:

    {"state": {0: {"step": 3, "exp_avg": array(...), ...}, 1: {...}},   # keyed by parameter index
     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}

A parameter's index counts across groups in order (group 0's parameters first), so the state does not
depend on object identity and can be loaded into a freshly built model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

ParamsArg = Iterable[Any] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: parameter groups, per-parameter state, `zero_grad`, `step`, `state_dict`.

    params: an iterable of parameters, or a list of dicts {"params": [...], "lr": ..., ...} whose keys
        override `defaults` for that group (e.g. a smaller lr for embeddings).
    defaults: the hyperparameters every group gets unless it sets its own.

    Subclasses implement `_update(group)` (update every parameter of one group that has a gradient) and
    may override `_check_group(group)` to validate hyperparameters.
    """

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]) -> None:
        if hasattr(params, "data") or isinstance(params, dict):
            # a lone tensor is iterable over its rows, which would silently optimise the wrong thing
            raise TypeError(
                f"{type(self).__name__} expects an iterable of parameters or of param-group dicts, "
                f"got a single {type(params).__name__}; wrap it in a list"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # Per-parameter state, keyed by the parameter itself (Tensor hashes by identity, like torch).
        self.state: dict[Any, dict[str, Any]] = {}
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: params must be an ordered collection, not a set "
                            "(the order gives each parameter its index in state_dict())")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(f"{type(self).__name__} expects an iterable of parameters, got a "
                            f"{type(params).__name__} (pass model.parameters())") from None
        if len(groups) == 0:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} params")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group {"params": [...], hyper: value, ...}; missing hyperparameters come from defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a param group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError("a param group's 'params' must be an ordered collection, not a set")
        params = [params] if hasattr(params, "data") else list(params)
        for i, p in enumerate(params):
            if not isinstance(getattr(p, "data", None), np.ndarray):
                raise TypeError(
                    f"param {i} of group {len(self.param_groups)} is a {type(p).__name__}, "
                    "not a parameter (an object with a NumPy .data array)"
                )
            if p.data.dtype.kind != "f":
                raise TypeError(f"param {i} of group {len(self.param_groups)} has dtype {p.data.dtype}; "
                                "only floating-point parameters can be optimised")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("a parameter appears more than once in the optimizer's parameter groups")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for invalid hyperparameters (subclasses override)."""
        _check_nonnegative(group, "lr")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set each `.grad` to None (default, cheaper) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad[...] = 0.0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return `closure()` (re-computes the loss) if given."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update(group)")

    # ---- state dict -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A copy: {"state": {index: {name: array or scalar}}, "param_groups": [{..., "params": [index]}]}."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`; the parameters must match in number, grouping and shape."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} param groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params: list[Any] = []  # parameter by saved index
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: param group {i} has {len(saved['params'])} parameters in "
                    f"the state dict but {len(group['params'])} here (a state dict for another model?)"
                )
            missing = sorted(k for k in self.defaults if k not in saved)
            if missing:
                raise ValueError(
                    f"{name}.load_state_dict: param group {i} lacks {', '.join(missing)} "
                    "(a state dict from another optimizer?)"
                )
            params.extend(group["params"])

        new_state: dict[Any, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            idx = _as_index(key)
            if idx is None or not 0 <= idx < len(params):
                raise ValueError(
                    f"{name}.load_state_dict: state key {key!r} is not a parameter index 0..{len(params) - 1}"
                )
            if not isinstance(values, dict):
                raise ValueError(f"{name}.load_state_dict: state of parameter {idx} is not a dict")
            p = params[idx]
            entry = {}
            for k, v in values.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.data.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state {k!r} of parameter {idx} has shape {v.shape}, "
                            f"but the parameter has shape {p.data.shape}"
                        )
                    v = v.astype(p.data.dtype) if v.dtype.kind == "f" else v.copy()  # astype copies
                entry[k] = _copy_value(v)
            new_state[p] = entry

        # Only now change anything, so a failed load leaves the optimizer as it was.
        for group, saved in zip(self.param_groups, saved_groups):
            params_here = group["params"]
            group.clear()
            group.update({k: _copy_value(v) for k, v in saved.items() if k != "params"})
            group["params"] = params_here
        self.state = new_state


def _copy_value(v: Any) -> Any:
    """Copy arrays (the caller must not share buffers with the optimizer); other values are immutable."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        return [_copy_value(x) for x in v]
    return v


def _as_index(key: Any) -> int | None:
    """A state key as a parameter index: an int, or a string of digits (from a JSON-like source)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return int(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return None


def _check_nonnegative(group: dict[str, Any], *names: str) -> None:
    """Raise ValueError unless each named hyperparameter is a number >= 0."""
    for n in names:
        v = group[n]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not v >= 0:
            raise ValueError(f"invalid {n}: {v!r} (must be a number >= 0)")
