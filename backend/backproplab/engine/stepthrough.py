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

import numpy as np

from .gradcheck import json_safe
from .losses import Loss
from .network import Network
from .optimizers import make_optimizer
from .regularization import add_regularization_gradient, regularization_penalty

MAX_TERMS = 12  # terms a formula string spells out before it abbreviates the sum
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

OUTPUT_GRADIENT_FORMULAS = {
    "mse": "∂L/∂a = 2(a − y)/N",
    "mae": "∂L/∂a = sign(a − y)/N",
    "huber": "∂L/∂a = clip(a − y, −1, 1)/N",
    "bce": "∂L/∂z = (σ(z) − y)/N  (sigmoid fused into the loss)",
    "cross_entropy": "∂L/∂z = (softmax(z) − onehot(y))/n  (softmax fused into the loss)",
}
_ADAM_MOMENTS = "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  "
_ADAM_STEP = "θ ← θ − η/(1 − β₁ᵗ) · m/(√v/√(1 − β₂ᵗ) + ε)"
UPDATE_RULES = {
    "sgd": "g ← g + λθ;  b ← μ·b + (1 − dampening)·g;  θ ← θ − η·b  (μ = 0: θ ← θ − η·g)",
    "momentum": "g ← g + λθ;  b ← μ·b + (1 − dampening)·g;  θ ← θ − η·b",
    "nesterov": "g ← g + λθ;  b ← μ·b + g;  θ ← θ − η·(g + μ·b)",
    "adagrad": "g ← g + λθ;  s ← s + g²;  θ ← θ − η/(1 + (t − 1)·lr_decay) · g/(√s + ε)",
    "rmsprop": "g ← g + λθ;  v ← α·v + (1 − α)·g²;  θ ← θ − η·g/(√v + ε)",
    "adam": "g ← g + λθ;  " + _ADAM_MOMENTS + _ADAM_STEP,
    "adamw": "θ ← θ(1 − ηλ);  " + _ADAM_MOMENTS + _ADAM_STEP,
    "adadelta": "g ← g + λθ;  v ← ρv + (1 − ρ)g²;  Δ = √(u + ε)/√(v + ε)·g;  u ← ρu + (1 − ρ)Δ²;  θ ← θ − ηΔ",
    "nadam": "g ← g + λθ;  "
    + _ADAM_MOMENTS
    + "d = √(v/(1 − β₂ᵗ)) + ε;  θ ← θ − η(1 − μₜ)/(1 − Πₜ)·g/d − η·μₜ₊₁/(1 − Πₜμₜ₊₁)·m/d",
}


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


def _forward_stage(index: int, layer, X_in: np.ndarray) -> dict:
    act = layer.activation
    neurons = []
    for j in range(layer.fan_out):
        formulas = []
        for s in range(X_in.shape[0]):
            products = _sum_of_terms(
                [f"{_num(layer.W[i, j])}×{_num(X_in[s, i])}" for i in range(layer.fan_in)]
            )
            formulas.append(
                f"z = Σᵢ wᵢ·aᵢ + b = {products} + {_num(layer.b[j])} = {_num(layer.z[s, j])};"
                f" {act.formula} = {_num(layer.a[s, j])}"
            )
        neurons.append(
            {
                "id": f"{index}-{j}",
                "label": f"a{_layer_tag(index)}{_index(j)}",
                "inputs": X_in.tolist(),
                "weights": layer.W[:, j].tolist(),
                "bias": float(layer.b[j]),
                "z": layer.z[:, j].tolist(),
                "activation": act.name,
                "a": layer.a[:, j].tolist(),
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


def _backward_neurons(index, layer, grad_a, local, grad_z, next_layer, next_grad_z) -> list[dict]:
    neurons = []
    for j in range(layer.fan_out):
        chains = []
        for s in range(grad_z.shape[0]):
            if local is not None:
                factors = f"{_num(grad_a[s, j])} × {_num(local[s, j])}"
                chain = f"∂L/∂z = ∂L/∂a · ∂a/∂z = {factors} = {_num(grad_z[s, j])}"
            elif grad_a is not None:
                chain = f"∂L/∂z = a(∂L/∂a − Σₖ ∂L/∂aₖ·aₖ) = {_num(grad_z[s, j])}  (softmax Jacobian)"
            else:
                chain = f"∂L/∂z = {_num(grad_z[s, j])}  (from the fused loss)"
            if next_layer is not None:
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


def _parameter_chain(label: str, grad_a, local, grad_z, a_in, value: float) -> str:
    """∂L/∂w with its factors per sample: three factors when the local derivative is a number, else two."""
    terms = []
    for s in range(grad_z.shape[0]):
        factor = "1" if a_in is None else _num(a_in[s])
        if local is not None:
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


def _backward_stage(index, layer, grad_a, local, grad_z, next_layer, next_grad_z, backprop_W, regularization):
    kind, rate = regularization
    weights = []
    for i in range(layer.fan_in):
        for j in range(layer.fan_out):
            label = f"w{_layer_tag(index)}{_index(i, j)}"
            chain = _parameter_chain(
                label,
                None if grad_a is None else grad_a[:, j],
                None if local is None else local[:, j],
                grad_z[:, j],
                layer.a_in[:, i],
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
                    "a_in": layer.a_in[:, i].tolist(),
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
    network: Network, loss: Loss, loss_grad: np.ndarray, regularization
) -> tuple[list[dict], np.ndarray]:
    """The backward pass of ``Network.backward``, split at each activation to keep ∂L/∂a and ∂L/∂z.

    ``DenseLayer.backward`` is ``backward_from_z(activation.backward(z, a, ∂L/∂a))``; calling the two
    halves here does the same floating-point operations in the same order, so every gradient is the
    engine's bit for bit. Returns the stages (output layer first) and ∂L/∂X.
    """
    last = len(network.layers) - 1
    captured, grad = [], loss_grad
    for index in range(last, -1, -1):
        layer = network.layers[index]
        if index == last and loss.fused_activation is not None:
            grad_a, local, grad_z = None, None, grad
        else:
            grad_a = grad
            elementwise = layer.activation.elementwise
            local = layer.activation.derivative(layer.z, layer.a) if elementwise else None
            grad_z = layer.activation.backward(layer.z, layer.a, grad_a)
        grad = layer.backward_from_z(grad_z, need_input_grad=True)
        captured.append((index, layer, grad_a, local, grad_z, layer.grad_W.copy()))
    add_regularization_gradient(network, *regularization)
    stages, next_layer, next_grad_z = [], None, None
    for index, layer, grad_a, local, grad_z, backprop_W in captured:
        stages.append(
            _backward_stage(
                index, layer, grad_a, local, grad_z, next_layer, next_grad_z, backprop_W, regularization
            )
        )
        next_layer, next_grad_z = layer, grad_z
    return stages, grad


def _update_formula(name, hyper, lr, old, grad, new, state) -> str:
    """The update of one parameter with its numbers: exact for the sgd family and adam/adamw."""
    if name in ("sgd", "momentum", "nesterov"):
        decayed = grad + hyper["weight_decay"] * old
        if hyper["momentum"] == 0.0:
            direction, text = decayed, "g"
        elif hyper["nesterov"]:
            direction = decayed + hyper["momentum"] * state["momentum_buffer"]
            text = "(g + μ·b)"
        else:
            direction, text = state["momentum_buffer"], "b"
        prefix = (
            f"g + λθ = {_num(grad)} + {_num(hyper['weight_decay'])}×{_num(old)} = {_num(decayed)}; "
            if hyper["weight_decay"]
            else ""
        )
        return f"{prefix}θ ← θ − η·{text} = {_num(old)} − {_num(lr)} × {_num(direction)} = {_num(new)}"
    if name in ("adam", "adamw") and not hyper["amsgrad"]:
        beta1, beta2 = hyper["betas"]
        t = state["step"]
        decay = f"·(1 − {_num(lr)}×{_num(hyper['weight_decay'])})" if name == "adamw" else ""
        moments = (
            f"{_num(state['exp_avg'])}/(√{_num(state['exp_avg_sq'])}/√(1 − {beta2}^{t}) + {hyper['eps']:g})"
        )
        return (
            f"θ ← θ{decay} − η/(1 − β₁ᵗ) · m/(√v/√(1 − β₂ᵗ) + ε)"
            f" = {_num(old)}{decay} − {_num(lr)}/(1 − {beta1}^{t}) × {moments} = {_num(new)}"
        )
    return f"θ ← θ + Δθ = {_num(old)} + {_num(new - old)} = {_num(new)}"


def _update_stage(network: Network, name: str, hyper: dict, lr: float, optimizer_state: dict | None) -> dict:
    """One step of a copy of the engine's optimizer on the (copied) network, parameter by parameter."""
    params = network.params()
    old = {key: value.copy() for key, value in params.items()}
    optimizer = make_optimizer(name, params, **hyper)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
        optimizer.set_hyperparameters(**hyper)
    grads = network.grads()
    optimizer.step(grads, lr=lr)
    entries = []
    for key, value in params.items():
        for index in np.ndindex(value.shape):
            state = {
                field: item[index] if isinstance(item, np.ndarray) else item
                for field, item in optimizer.state.get(key, {}).items()
            }
            before, grad, after = float(old[key][index]), float(grads[key][index]), float(value[index])
            entries.append(
                {
                    "id": f"{key}[{','.join(map(str, index))}]",
                    "old": before,
                    "grad": grad,
                    "new": after,
                    "state": state,
                    "formula": _update_formula(name, optimizer.hyper, lr, before, grad, after, state),
                }
            )
    return {
        "kind": "update",
        "optimizer": name,
        "lr": float(lr),
        "hyper": optimizer.hyper,
        "rule": UPDATE_RULES[name],
        "parameters": entries,
        "weights": network.weights(),
    }


def trace_step(
    network: Network,
    loss: Loss,
    X_batch,
    y_batch,
    optimizer_name: str,
    hyper: dict,
    lr: float,
    optimizer_state: dict | None = None,
    regularization: tuple[str, float] | None = None,
) -> dict:
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


def _trace(network, loss, X_batch, y_batch, optimizer_name, hyper, lr, optimizer_state, regularization):
    regularization = regularization or ("none", 0.0)
    network = copy.deepcopy(network)
    X = np.array(X_batch, dtype=np.float64).reshape(-1, network.sizes[0])
    y = np.asarray(y_batch)
    output = network.forward(X)
    result = loss.evaluate(network.output_layer.z, output, y)
    penalty = regularization_penalty(network, *regularization)
    forward = [_forward_stage(index, layer, layer.a_in) for index, layer in enumerate(network.layers)]
    loss_stage = {
        "kind": "loss",
        "name": loss.name,
        "formula": loss.formula,
        "output": output,
        "target": y,
        "value": result.value,
        "penalty": penalty,
        "total": result.value + penalty,
        "gradient_formula": OUTPUT_GRADIENT_FORMULAS[loss.name],
        "gradient": result.grad,
    }
    backward, grad_X = _backward(network, loss, result.grad, regularization)
    update = _update_stage(network, optimizer_name, hyper, lr, optimizer_state)
    return json_safe(
        {
            "sizes": network.sizes,
            "batch_size": X.shape[0],
            "inputs": X,
            "targets": y,
            "stages": [*forward, loss_stage, *backward, update],
            "input_gradient": grad_X,
        }
    )
