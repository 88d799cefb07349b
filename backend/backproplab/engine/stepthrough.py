"""One training step, traced stage by stage with every number: the "backprop, one step at a time" view.

The stages are those of a real step, run by the engine's own code on a copy of the network:

1. forward, layer by layer: z_j = Σ_i a_in_i · W_ij + b_j, a_j = f(z_j) for every neuron;
2. the loss L (mean over the batch, plus the regularisation penalty when there is one);
3. backward, from the output layer to the input, the chain rule at every neuron,
       ∂L/∂z_j = ∂L/∂a_j · ∂a_j/∂z_j          (upstream gradient × local derivative),
       ∂L/∂a_in_i = Σ_j ∂L/∂z_j · W_ij        (the upstream gradient of the layer below),
   and at every weight, summed over the batch, ∂L/∂W_ij = Σ_s ∂L/∂z_sj · a_in_si, ∂L/∂b_j = Σ_s ∂L/∂z_sj;
4. the update of every parameter by one step of the engine's optimizer (a copy, from the given state).

Fused losses (bce with sigmoid, cross-entropy with softmax) give ∂L/∂z of the output layer directly,
(a − y)/n, so their output neurons have no separate upstream and local factor; nor does a softmax output
under a regression loss, whose Jacobian is not diagonal (∂L/∂z_k = a_k(∂L/∂a_k − Σ_j ∂L/∂a_j a_j)).

Every number is the engine's own: ∂L/∂z is what ``Activation.backward`` returns and ∂L/∂W what
``DenseLayer.backward_from_z`` writes, bit for bit. Strings round to 4 significant digits for reading.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .losses import Loss
from .network import DenseLayer, Network
from .numbers import json_safe
from .optimizers import make_optimizer
from .regularization import (
    NO_REGULARIZATION,
    Regularization,
    add_regularization_gradient,
    regularization_penalty,
)

MAX_TERMS = 12  # terms a formula string spells out before it abbreviates the sum
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _num(value: float) -> str:
    """A number for a formula: 4 significant digits, negative ones in parentheses so products read well."""
    text = f"{float(value):.4g}"
    return f"({text})" if text.startswith("-") else text


def _index(*indices: int) -> str:
    """1-based subscript indices: ₁₂ for (0, 1), ₁₂,₃ once an index has two digits."""
    parts = [str(i + 1) for i in indices]
    return ("," if any(len(part) > 1 for part in parts) else "").join(parts).translate(_SUBSCRIPTS)


def _layer_tag(layer: int) -> str:
    """⁽ˡ⁾ with l the 1-based layer number (layer 0 of the engine is layer 1, the inputs are layer 0)."""
    return f"⁽{str(layer + 1).translate(_SUPERSCRIPTS)}⁾"


def _sum_of_terms(terms: list[str]) -> str:
    """t₁ + t₂ + …, shortened to the first three and the last when there are more than MAX_TERMS."""
    if len(terms) > MAX_TERMS:
        terms = [*terms[:3], f"… ({len(terms)} terms) …", terms[-1]]
    return " + ".join(terms)


def _forward_stage(index: int, layer: DenseLayer, X_in: np.ndarray) -> dict[str, Any]:
    act = layer.activation
    neurons = []
    _, z, a = layer.cached()
    for j in range(layer.fan_out):
        formulas = []
        for s in range(X_in.shape[0]):
            products = _sum_of_terms(
                [f"{_num(layer.W[i, j])}×{_num(X_in[s, i])}" for i in range(layer.fan_in)]
            )
            formulas.append(
                f"z = Σᵢ wᵢ·aᵢ + b = {products} + {_num(layer.b[j])} = {_num(z[s, j])};"
                f" {act.formula} = {_num(a[s, j])}"
            )
        neurons.append(
            {
                "id": f"{index}-{j}",
                "label": f"a{_layer_tag(index)}{_index(j)}",
                "inputs": X_in.tolist(),
                "weights": layer.W[:, j].tolist(),
                "bias": float(layer.b[j]),
                "z": z[:, j].tolist(),
                "activation": act.name,
                "a": a[:, j].tolist(),
                "formula": formulas,
            }
        )
    return {
        "kind": "forward",
        "layer": index,
        "activation": act.name,
        "formula": act.formula,
        "neurons": neurons,
    }


def _backward_neurons(
    index: int,
    layer: DenseLayer,
    grad_a: np.ndarray | None,
    local: np.ndarray | None,
    grad_z: np.ndarray,
    next_layer: DenseLayer | None,
    next_grad_z: np.ndarray | None,
) -> list[dict[str, Any]]:
    neurons = []
    for j in range(layer.fan_out):
        chains = []
        for s in range(grad_z.shape[0]):
            if local is not None:
                assert grad_a is not None  # a local derivative comes with its upstream gradient
                factors = f"{_num(grad_a[s, j])} × {_num(local[s, j])}"
                chain = f"∂L/∂z = ∂L/∂a · ∂a/∂z = {factors} = {_num(grad_z[s, j])}"
            elif grad_a is not None:
                chain = f"∂L/∂z = a(∂L/∂a − Σₖ ∂L/∂aₖ·aₖ) = {_num(grad_z[s, j])}  (softmax Jacobian)"
            else:
                chain = f"∂L/∂z = {_num(grad_z[s, j])}  (from the fused loss)"
            if next_layer is not None:
                assert next_grad_z is not None and grad_a is not None  # a hidden layer has both
                terms = [
                    f"{_num(next_grad_z[s, k])}×{_num(next_layer.W[j, k])}" for k in range(next_layer.fan_out)
                ]
                chain = f"∂L/∂a = Σₖ ∂L/∂zₖ·wₖ = {_sum_of_terms(terms)} = {_num(grad_a[s, j])}; {chain}"
            chains.append(chain)
        neurons.append(
            {
                "id": f"{index}-{j}",
                "label": f"a{_layer_tag(index)}{_index(j)}",
                "upstream": None if grad_a is None else grad_a[:, j].tolist(),
                "local": None if local is None else local[:, j].tolist(),
                "grad_z": grad_z[:, j].tolist(),
                "chain": chains,
            }
        )
    return neurons


def _parameter_chain(
    label: str,
    grad_a: np.ndarray | None,
    local: np.ndarray | None,
    grad_z: np.ndarray,
    a_in: np.ndarray | None,
    value: float,
) -> str:
    """∂L/∂w with its factors per sample: three factors when the local derivative is a number, else two."""
    terms = []
    for s in range(grad_z.shape[0]):
        factor = "1" if a_in is None else _num(a_in[s])
        if local is not None:
            assert grad_a is not None  # a local derivative comes with its upstream gradient
            terms.append(f"{_num(grad_a[s])} × {_num(local[s])} × {factor}")
        else:
            terms.append(f"{_num(grad_z[s])} × {factor}")
    wrt = "b" if a_in is None else "w"
    path = "∂L/∂a · ∂a/∂z" if local is not None else "∂L/∂z"
    batch = "Σₛ " if grad_z.shape[0] > 1 else ""
    return f"∂L/∂{label} = {batch}{path} · ∂z/∂{wrt} = {_sum_of_terms(terms)} = {_num(value)}"


def _penalty_text(kind: str, rate: float, weight: float, term: float, total: float) -> str:
    """The regularisation term of a weight's gradient: rate·w (l2) or rate·sign(w) (l1), and the total."""
    factor = _num(weight) if kind == "l2" else _num(np.sign(weight))
    name = "λ·w" if kind == "l2" else "λ·sign(w)"
    return f"; + {name} = {_num(rate)} × {factor} = {_num(term)}; total {_num(total)}"


def _backward_stage(
    index: int,
    layer: DenseLayer,
    grad_a: np.ndarray | None,
    local: np.ndarray | None,
    grad_z: np.ndarray,
    next_layer: DenseLayer | None,
    next_grad_z: np.ndarray | None,
    backprop_W: np.ndarray,
    regularization: Regularization,
) -> dict[str, Any]:
    kind, rate = regularization
    a_in = layer.cached()[0]
    weights = []
    for i in range(layer.fan_in):
        for j in range(layer.fan_out):
            label = f"w{_layer_tag(index)}{_index(i, j)}"
            chain = _parameter_chain(
                label,
                None if grad_a is None else grad_a[:, j],
                None if local is None else local[:, j],
                grad_z[:, j],
                a_in[:, i],
                backprop_W[i, j],
            )
            if kind != "none" and rate != 0.0:
                term = layer.grad_W[i, j] - backprop_W[i, j]
                chain += _penalty_text(kind, rate, layer.W[i, j], term, layer.grad_W[i, j])
            weights.append(
                {
                    "id": f"W{index}[{i},{j}]",
                    "label": label,
                    "from": i,
                    "to": j,
                    "a_in": a_in[:, i].tolist(),
                    "grad_z": grad_z[:, j].tolist(),
                    "grad": float(layer.grad_W[i, j]),
                    "chain": chain,
                }
            )
    biases = [
        {
            "id": f"b{index}[{j}]",
            "label": f"b{_layer_tag(index)}{_index(j)}",
            "grad": float(layer.grad_b[j]),
            "chain": _parameter_chain(
                f"b{_layer_tag(index)}{_index(j)}",
                None if grad_a is None else grad_a[:, j],
                None if local is None else local[:, j],
                grad_z[:, j],
                None,
                layer.grad_b[j],
            ),
        }
        for j in range(layer.fan_out)
    ]
    return {
        "kind": "backward",
        "layer": index,
        "neurons": _backward_neurons(index, layer, grad_a, local, grad_z, next_layer, next_grad_z),
        "weights": weights,
        "biases": biases,
        "grad_W": layer.grad_W.tolist(),
        "grad_b": layer.grad_b.tolist(),
    }


def _backward(
    network: Network, loss: Loss, loss_grad: np.ndarray, regularization: Regularization
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The backward pass of ``Network.backward``, split at each activation to keep ∂L/∂a and ∂L/∂z.

    ``DenseLayer.backward`` is ``backward_from_z(activation.backward(z, a, ∂L/∂a))``; calling the two
    halves here does the same floating-point operations in the same order, so every gradient is the
    engine's bit for bit. Returns the stages (output layer first) and ∂L/∂X.
    """
    last = len(network.layers) - 1
    captured = []
    grad = loss_grad
    for index in range(last, -1, -1):
        layer = network.layers[index]
        grad_a: np.ndarray | None
        local: np.ndarray | None
        if index == last and loss.fused_activation is not None:
            grad_a, local, grad_z = None, None, grad
        else:
            grad_a = grad
            z, a = layer.z, layer.a
            assert z is not None and a is not None  # the forward pass ran
            local = layer.activation.derivative(z, a) if layer.activation.elementwise else None
            grad_z = layer.activation.backward(z, a, grad_a)
        grad_in = layer.backward_from_z(grad_z, need_input_grad=True)
        assert grad_in is not None  # asked for
        grad = grad_in
        captured.append((index, layer, grad_a, local, grad_z, layer.grad_W.copy()))
    add_regularization_gradient(network, *regularization)
    stages: list[dict[str, Any]] = []
    next_layer: DenseLayer | None = None
    next_grad_z: np.ndarray | None = None
    for index, layer, grad_a, local, grad_z, backprop_W in captured:
        stages.append(
            _backward_stage(
                index, layer, grad_a, local, grad_z, next_layer, next_grad_z, backprop_W, regularization
            )
        )
        next_layer, next_grad_z = layer, grad_z
    return stages, grad


def _state_numbers(symbols: dict[str, str], before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Each state value of one parameter as "symbol: before → after" (or its value when it is new)."""
    parts = []
    for key, value in after.items():
        symbol = symbols.get(key, key)
        if key in before and before[key] is not None:
            parts.append(f"{symbol}: {_num(before[key])} → {_num(value)}")
        else:
            parts.append(f"{symbol} = {_num(value)}")
    return parts


def _scalar_state(state: dict[str, Any], index: tuple[int, ...]) -> dict[str, Any]:
    """One parameter entry's state: its element of each buffer, and the scalars (step, mu_product) as they are."""
    return {key: item[index] if isinstance(item, np.ndarray) else item for key, item in state.items()}


def _update_stage(
    network: Network, name: str, hyper: dict[str, Any], lr: float, optimizer_state: dict[str, Any] | None
) -> dict[str, Any]:
    """One step of a copy of the engine's optimizer on the (copied) network, parameter by parameter.

    The rule is the optimizer's own (:meth:`Optimizer.rule`); each parameter lists the numbers in it:
    η, g, every state buffer before → after under the rule's symbols, and θ before → after.
    """
    params = network.params()
    old = {key: value.copy() for key, value in params.items()}
    optimizer = make_optimizer(name, params, **hyper)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
        optimizer.set_hyperparameters(**hyper)
    before_state = copy.deepcopy(optimizer.state)
    grads = network.grads()
    optimizer.step(grads, lr=lr)
    entries = []
    for key, value in params.items():
        for index in np.ndindex(value.shape):
            state = _scalar_state(optimizer.state.get(key, {}), index)
            previous = _scalar_state(before_state.get(key, {}), index)
            before, grad, after = float(old[key][index]), float(grads[key][index]), float(value[index])
            numbers = [f"η = {_num(lr)}", f"g = {_num(grad)}"]
            numbers += _state_numbers(optimizer.SYMBOLS, previous, state)
            numbers.append(f"θ: {_num(before)} → {_num(after)}")
            entries.append(
                {
                    "id": f"{key}[{','.join(map(str, index))}]",
                    "old": before,
                    "grad": grad,
                    "new": after,
                    "state": state,
                    "formula": ";  ".join(numbers),
                }
            )
    return {
        "kind": "update",
        "optimizer": name,
        "lr": float(lr),
        "hyper": optimizer.hyper,
        "rule": ";  ".join(optimizer.rule()),
        "symbols": dict(optimizer.SYMBOLS),
        "parameters": entries,
        "weights": network.weights(),
    }


def trace_step(
    network: Network,
    loss: Loss,
    X_batch: ArrayLike,
    y_batch: ArrayLike,
    optimizer_name: str,
    hyper: dict[str, Any],
    lr: float,
    optimizer_state: dict[str, Any] | None = None,
    regularization: Regularization | None = None,
) -> dict[str, Any]:
    """Every number of one training step on ``X_batch`` (one sample or a few), without touching ``network``.

    ``optimizer_state`` is an ``Optimizer.state_dict()`` to continue from (fresh state when None);
    ``regularization`` is ``(kind, rate)``. Returns a JSON-safe dict whose ``stages`` are, in order, one
    ``forward`` stage per layer, the ``loss``, one ``backward`` stage per layer from the output down, and the
    ``update``; also ``input_gradient`` (∂L/∂X) and the ``sizes`` of the network.
    """
    # NOTE: a diverging network overflows to inf and NaN; the trace shows those as None rather than warn.
    with np.errstate(over="ignore", invalid="ignore"):
        return _trace(
            network, loss, X_batch, y_batch, optimizer_name, hyper, lr, optimizer_state, regularization
        )


def _trace(
    network: Network,
    loss: Loss,
    X_batch: ArrayLike,
    y_batch: ArrayLike,
    optimizer_name: str,
    hyper: dict[str, Any],
    lr: float,
    optimizer_state: dict[str, Any] | None,
    regularization: Regularization | None,
) -> dict[str, Any]:
    regularization = regularization or NO_REGULARIZATION
    network = copy.deepcopy(network)
    X = np.array(X_batch, dtype=np.float64).reshape(-1, network.sizes[0])
    y = np.asarray(y_batch)
    output = network.forward(X)
    result = loss.evaluate(network.logits, output, y)
    penalty = regularization_penalty(network, *regularization)
    forward = [_forward_stage(index, layer, layer.cached()[0]) for index, layer in enumerate(network.layers)]
    loss_stage = {
        "kind": "loss",
        "name": loss.name,
        "formula": loss.formula,
        "output": output,
        "target": y,
        "value": result.value,
        "penalty": penalty,
        "total": result.value + penalty,
        "gradient_formula": loss.gradient_formula,
        "gradient": result.grad,
    }
    backward, grad_X = _backward(network, loss, result.grad, regularization)
    update = _update_stage(network, optimizer_name, hyper, lr, optimizer_state)
    trace: dict[str, Any] = json_safe(
        {
            "sizes": network.sizes,
            "batch_size": X.shape[0],
            "inputs": X,
            "targets": y,
            "stages": [*forward, loss_stage, *backward, update],
            "input_gradient": grad_X,
        }
    )
    return trace
