"""PyTorch's names and shapes for the recurrent cells and layers, both ways (torch is never imported).

minigrad keeps Keras's layout (x @ W): weight_ih (I, G*H), weight_hh (H, G*H) and one bias (G*H,) for RNN
and LSTM, two for GRU. torch.nn.RNN/LSTM/GRU keep W x: weight_ih_l{k} (G*H, I), weight_hh_l{k} (G*H, H)
and always two biases. The gate orders are the same (LSTM i, f, g, o; GRU r, z, n), so converting is

    weight_ih_l{k} = weight_ih.T           weight_hh_l{k} = weight_hh.T
    bias_ih_l{k}, bias_hh_l{k}             = the cell's `_torch_biases()` (RNN, LSTM: bias and zeros,
                                             since both torch biases add to the same pre-activation;
                                             GRU: bias_ih and bias_hh as they are)
and back: the transposes, and the cell's `_load_torch_biases(b_ih, b_hh)` (RNN, LSTM: bias = b_ih + b_hh).
Cells (torch.nn.LSTMCell, ...) use the names without the `_l{k}` suffix; a bidirectional layer's backward
direction adds `_reverse`. What differs between kinds of cell (gate count, biases, name) lives on the cell
classes in `rnn.py`; this module does the names, shapes, checks and transposes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

_TORCH_KEY = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")


def export(layer: Any, suffix: str) -> dict[str, np.ndarray]:
    """The layer's parameters under torch's names with `suffix` ("", "_l0", "_l0_reverse"), as copies."""
    b_ih, b_hh = layer._torch_biases()
    return {
        f"weight_ih{suffix}": np.ascontiguousarray(layer.weight_ih.data.T),
        f"weight_hh{suffix}": np.ascontiguousarray(layer.weight_hh.data.T),
        f"bias_ih{suffix}": np.array(b_ih, copy=True),
        f"bias_hh{suffix}": np.array(b_hh, copy=True),
    }


def fetch(layer: Any, d: dict[str, Any], suffix: str, owner: str) -> dict[str, np.ndarray]:
    """The four torch arrays named with `suffix`, checked; errors name the key and both shapes."""
    I, H, G = layer.input_size, layer.hidden_size, layer.gates
    GH = G * H
    expected = {"weight_ih": (GH, I), "weight_hh": (GH, H), "bias_ih": (GH,), "bias_hh": (GH,)}
    missing = [k + suffix for k in expected if k + suffix not in d]
    if missing:
        raise KeyError(f"{owner}.load_torch_state_dict: missing key(s) {', '.join(missing)} "
                       f"(the dict has: {', '.join(map(str, d)) or 'nothing'})")
    arrays = {}
    for k, shape in expected.items():
        key = k + suffix
        arr = _to_numpy(d[key], key, owner)
        if arr.shape != shape:
            hint = ""
            rows = arr.shape[0] if arr.ndim >= 1 else 0
            kinds = {1: "RNN", 4: "LSTM", 3: "GRU"}  # torch's kinds by gate count, for the hint only
            if rows != GH and rows % H == 0 and rows // H in kinds:
                hint = (f"; {rows} = {rows // H} x {H} rows is the shape of a torch {kinds[rows // H]}: "
                        f"is the dict from another kind of layer?")
            raise ValueError(f"{owner}.load_torch_state_dict: {key} has shape {arr.shape} but this "
                             f"{layer.cell_name} needs {shape} ({G} gates x hidden_size {H}, "
                             f"input_size {I}){hint}")
        arrays[k] = arr
    return arrays


def assign(layer: Any, arrays: dict[str, np.ndarray]) -> None:
    """Copy checked torch arrays into the layer's parameters, in place (transposed)."""
    layer.weight_ih.data[...] = arrays["weight_ih"].T
    layer.weight_hh.data[...] = arrays["weight_hh"].T
    layer._load_torch_biases(arrays["bias_ih"], arrays["bias_hh"])


def check_nonlinearity(layer: Any, nonlinearity: str | None, owner: str) -> None:
    """The torch model's nonlinearity (if given) must be the layer's; only the simple RNN has one."""
    if nonlinearity is None:
        return
    if not layer.has_nonlinearity:
        raise ValueError(f"{owner}.load_torch_state_dict: nonlinearity= applies to RNN only, "
                         f"not to {layer.cell_name}")
    if nonlinearity != layer.nonlinearity:
        raise ValueError(f"{owner}.load_torch_state_dict: the torch model uses nonlinearity="
                         f"{nonlinearity!r} but this layer uses {layer.nonlinearity!r}: "
                         f"build it with nonlinearity={nonlinearity!r}")


def check_unexpected(d: dict[str, Any], allowed: set[str], layer_index: int | None, owner: str,
                     hint: str) -> None:
    """Keys other than `allowed` are an error, except (for layers) the other layers' keys of a torch
    model with num_layers > 1."""
    bad = []
    for key in d:
        if key in allowed:
            continue
        m = _TORCH_KEY.match(str(key))
        if m and layer_index is not None and int(m.group(3)) != layer_index:
            continue  # another layer of a torch num_layers > 1 model: load it into that layer
        bad.append(str(key))
    if bad:
        raise KeyError(f"{owner}.load_torch_state_dict: unexpected key(s) {', '.join(bad)}{hint}")


def load_layer(layer: Any, d: dict[str, Any], nonlinearity: str | None, layer_index: int | None) -> None:
    """Load one cell (layer_index None: no suffix) or one layer's `_l{layer_index}` keys; all checks
    happen before anything is written, so a failed load changes nothing."""
    owner = type(layer).__name__
    check_nonlinearity(layer, nonlinearity, owner)
    suffix = "" if layer_index is None else f"_l{layer_index}"
    arrays = fetch(layer, d, suffix, owner)
    hint = ""
    if layer_index is not None and any(str(k).endswith(suffix + "_reverse") for k in d):
        hint = ": this is a bidirectional model's dict, load it into nn.Bidirectional"
    check_unexpected(d, {k + suffix for k in arrays}, layer_index, owner, hint)
    assign(layer, arrays)


def load_bidirectional(bi: Any, d: dict[str, Any], nonlinearity: str | None, layer_index: int) -> None:
    """Load a bidirectional torch model's dict: `_l{k}` keys go forward, `_l{k}_reverse` backward."""
    fw_layer, bw_layer = bi.forward_layer, bi.backward_layer
    owner = f"Bidirectional({type(fw_layer).__name__})"
    suffix = f"_l{layer_index}"
    check_nonlinearity(fw_layer, nonlinearity, owner)
    fw = fetch(fw_layer, d, suffix, owner)
    bw = fetch(bw_layer, d, suffix + "_reverse", owner)
    allowed = {k + suffix for k in fw} | {k + suffix + "_reverse" for k in bw}
    check_unexpected(d, allowed, layer_index, owner, "")
    assign(fw_layer, fw)
    assign(bw_layer, bw)


def _to_numpy(v: Any, key: str, owner: str) -> np.ndarray:
    """A float array from a NumPy array, a minigrad Tensor or (duck-typed, never imported) a torch tensor."""
    if isinstance(v, Tensor):
        v = v.data
    elif hasattr(v, "detach") and hasattr(v, "cpu"):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.dtype.kind != "f":
        raise TypeError(f"{owner}.load_torch_state_dict: {key} must hold floats, got dtype {arr.dtype}")
    return arr


__all__ = ["export", "fetch", "assign", "check_nonlinearity", "check_unexpected", "load_layer",
           "load_bidirectional"]
