"""`Module`: the base of every layer. Registers Parameters and sub-modules by attribute assignment."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from minigrad import autograd_mode
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


class Module:
    """Base class for layers and models, as torch.nn.Module.

    Assigning a Parameter or a Module to an attribute registers it (in assignment order), so
    `parameters()`, `named_parameters()` ("encoder.rnn.weight_ih"), `state_dict()`, `zero_grad()`,
    `train()`/`eval()` and `summary()` find it. Subclasses call `super().__init__()` first and define
    `forward`; calling the module runs `forward`.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_param_names", {})
        object.__setattr__(self, "_module_names", {})
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_param_names")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise RuntimeError(
                    f"{type(self).__name__}: call super().__init__() before assigning parameters or modules"
                )
            object.__setattr__(self, name, value)
            return
        modules = self.__dict__["_module_names"]
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = None
        elif isinstance(value, Module):
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._param_names.pop(name, None)
        self._module_names.pop(name, None)
        object.__delattr__(self, name)

    # ---- calling ----------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in self._forward_hooks:
                hook(self, args, out)
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], None]) -> Callable[[], None]:
        """Call hook(module, inputs, output) after each forward; returns a function that removes it."""
        self._forward_hooks.append(hook)
        return lambda: self._forward_hooks.remove(hook)

    # ---- traversal --------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name in self._module_names:
            yield name, self.__dict__[name]

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs in registration order; a shared parameter appears once."""
        seen: set[int] = set()
        for mod_name, m in self.named_modules(prefix):
            for name in m._param_names:
                p = m.__dict__[name]
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active); eval() is train(False)."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to `dtype` (np.float32 or np.float64), in place."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # ---- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: array} of every parameter (the arrays themselves, not copies)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters. Lists every missing, unexpected and wrong-shape key at once.

        With strict=False missing and unexpected keys are ignored; wrong shapes are always an error.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        wrong = []
        for k, p in own.items():
            if k in state:
                shape = tuple(np.shape(state[k].data if isinstance(state[k], Tensor) else state[k]))
                if shape != p.shape:
                    wrong.append(f"{k}: given {shape}, model has {p.shape}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if wrong:
            problems.append("wrong shapes: " + "; ".join(wrong))
        if problems:
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems))
        for k, p in own.items():
            if k in state:
                v = state[k]
                p.data[...] = v.data if isinstance(v, Tensor) else np.asarray(v)

    # ---- display ----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            return lines[0] + ")"
        for name, m in children:
            lines.append("  (" + name + "): " + repr(m).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"

    def summary(self, *example_inputs: Any, print_fn: Callable[[str], None] | None = print) -> str:
        """Print a Keras-like table: layer (type), output shape, parameter shapes, Param #, totals.

        Pass an example input (a Tensor or array, e.g. zeros of shape (1, T, I)) to get output shapes;
        the batch axis is shown as None, as Keras does. Param # counts equal Keras's for the same layers
        (Dense, Embedding, Conv2D, SimpleRNN, LSTM, GRU with reset_after=True).
        Returns the table as a string as well.
        """
        rows_src = list(self.named_children()) or [(type(self).__name__.lower(), self)]
        out_shapes: dict[int, str] = {}
        if example_inputs:
            removers = []
            for _, m in rows_src:
                def hook(mod: Module, _inp: tuple, out: Any, key: int = id(m)) -> None:
                    out_shapes[key] = _format_output_shape(out)
                removers.append(m.register_forward_hook(hook))
            was_training = self.training
            self.eval()
            try:
                with autograd_mode.no_grad():
                    self(*[x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in example_inputs])
            finally:
                for r in removers:
                    r()
                self.train(was_training)
        table = [("Layer (type)", "Output Shape", "Param shapes", "Param #")]
        for name, m in rows_src:
            shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in m.named_parameters())
            table.append((f"{name} ({type(m).__name__})", out_shapes.get(id(m), "?"), shapes or "-",
                          f"{m.num_parameters():,}"))
        widths = [max(len(r[i]) for r in table) for i in range(4)]
        sep = "=" * (sum(widths) + 6)
        lines = [f'Model: "{type(self).__name__}"', sep]
        for i, r in enumerate(table):
            lines.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
            if i == 0:
                lines.append(sep)
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        lines += [sep, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text


def _format_output_shape(out: Any) -> str:
    if isinstance(out, Tensor):
        return str((None,) + tuple(out.shape[1:])).replace(",)", ")")
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_format_output_shape(o) for o in out) + "]"
    return "?"


class Sequential(Module):
    """Modules applied one after another: Sequential(nn.LSTM(...), nn.Dropout(0.2), nn.Linear(...))."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes modules, argument {i} is a {type(m).__name__}")
            setattr(self, str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self.children():
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self.children())[i]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def append(self, m: Module) -> Sequential:
        setattr(self, str(len(self)), m)
        return self


class ModuleList(Module):
    """A list of modules that registers each one (a plain Python list would hide their parameters)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, m: Module) -> ModuleList:
        if not isinstance(m, Module):
            raise TypeError(f"ModuleList takes modules, got a {type(m).__name__}")
        setattr(self, str(len(self)), m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self.children())[i]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[Module]:
        return self.children()
