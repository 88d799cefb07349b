"""Two classic worked examples of backpropagation, as presets for the step-through view.

(a) The computation graph J(a, b, c) = 3(a + bc) with a = 5, b = 3, c = 2, the opening example of
    "computation graphs" in Andrew Ng's deep learning course: u = bc = 6, v = a + u = 11, J = 3v = 33.
    Walking back with the chain rule, each node's derivative is the upstream derivative times the local one:

        dJ/dv = 3
        dJ/du = dJ/dv · dv/du = 3 · 1 = 3          dJ/da = dJ/dv · dv/da = 3 · 1 = 3
        dJ/db = dJ/du · du/db = 3 · c              dJ/dc = dJ/du · du/dc = 3 · b

(b) A chain of single neurons, x → σ(w₁x + b₁) → σ(w₂a₁ + b₂), with the cost C = (a₂ − y)² (the
    engine's mse for one output), the setup 3Blue1Brown's "Backpropagation calculus" derives
    ∂C/∂w = ∂z/∂w · ∂a/∂z · ∂C/∂a on. One input, one hidden neuron, one output, numbers chosen small
    and distinct so each factor can be followed by hand; the trace comes from the engine itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .losses import get_loss
from .network import Network
from .stepthrough import trace_step

Values = dict[str, float]
# name: (expression, parents, forward(values), local derivatives {parent: ∂node/∂parent}(values))
_GRAPH: dict[str, tuple[str, tuple[str, ...], Callable[[Values], float], Callable[[Values], Values]]] = {
    "u": ("u = b·c", ("b", "c"), lambda v: v["b"] * v["c"], lambda v: {"b": v["c"], "c": v["b"]}),
    "v": ("v = a + u", ("a", "u"), lambda v: v["a"] + v["u"], lambda v: {"a": 1.0, "u": 1.0}),
    "J": ("J = 3·v", ("v",), lambda v: 3.0 * v["v"], lambda v: {"v": 3.0}),
}
_INPUTS = ("a", "b", "c")


def _fmt(value: float) -> str:
    return f"{value:g}" if value >= 0 else f"({value:g})"


def expression_graph(a: float = 5.0, b: float = 3.0, c: float = 2.0) -> dict[str, Any]:
    """J(a, b, c) = 3(a + bc) as a graph with forward values and reverse-mode derivatives dJ/d(node).

    The derivatives are computed by walking the graph backwards, dJ/dp += dJ/dn · ∂n/∂p for every edge
    p → n, not written in closed form, so the result (dJ/db = 3c, dJ/dc = 3b) is the chain rule's.
    Returns ``nodes`` (forward order, each with value, grad, local derivatives and a chain-rule string),
    ``edges`` (with their local derivative) and the ``forward``/``backward`` visiting orders.
    """
    values = {"a": float(a), "b": float(b), "c": float(c)}
    for name, (_, _, forward, _) in _GRAPH.items():
        values[name] = forward(values)
    grads = dict.fromkeys(values, 0.0)
    grads["J"] = 1.0
    chains = {"J": "dJ/dJ = 1"}
    for name in reversed(_GRAPH):
        for parent, local in _GRAPH[name][3](values).items():
            grads[parent] += grads[name] * local
            # Each node feeds exactly one other here, so every chain has a single term.
            path = f"dJ/d{name} · d{name}/d{parent}"
            chains[parent] = (
                f"dJ/d{parent} = {path} = {_fmt(grads[name])} × {_fmt(local)} = {_fmt(grads[parent])}"
            )
    nodes: list[dict[str, Any]] = [
        {"id": name, "kind": "input", "expression": name, "local": {}} for name in _INPUTS
    ]
    nodes += [
        {"id": name, "kind": "operation", "expression": expression, "local": local(values)}
        for name, (expression, _, _, local) in _GRAPH.items()
    ]
    for node in nodes:
        node.update(value=values[node["id"]], grad=grads[node["id"]], chain=chains[node["id"]])
    edges = [
        {"from": parent, "to": name, "local": local(values)[parent]}
        for name, (_, parents, _, local) in _GRAPH.items()
        for parent in parents
    ]
    forward_order = [*_INPUTS, *_GRAPH]
    return {
        "expression": "J(a, b, c) = 3(a + bc)",
        "source": "Andrew Ng, Deep Learning Specialization, course 1: derivatives with a computation graph",
        "nodes": nodes,
        "edges": edges,
        "forward": forward_order,
        "backward": forward_order[::-1],
    }


TINY_X, TINY_Y = 1.0, 1.0
TINY_WEIGHTS = [{"W": [[0.8]], "b": [0.2]}, {"W": [[0.4]], "b": [-0.1]}]
TINY_LR = 0.5


def tiny_network_config() -> dict[str, Any]:
    """A RunConfig (as JSON) for the 1-1-1 sigmoid network on the single sample x = 1, y = 1, with sgd."""
    return {
        "dataset": {
            "kind": "custom",
            "X": [[TINY_X]],
            "y": [TINY_Y],
            "train_fraction": 1.0,
            "task": "regression",
        },
        "model": {
            "hidden": [1],
            "activation": "sigmoid",
            "output_activation": "sigmoid",
            "weights": TINY_WEIGHTS,
        },
        "loss": "mse",
        "optimizer": {"name": "sgd", "lr": TINY_LR},
        "batch_size": 1,
    }


def tiny_network() -> Network:
    """The example's network: x → sigmoid(0.8x + 0.2) → sigmoid(0.4a₁ − 0.1)."""
    return Network.build([1, 1, 1], "sigmoid", "sigmoid", "zeros", np.random.default_rng(0), TINY_WEIGHTS)


def tiny_network_example() -> dict[str, Any]:
    """The config and the full one-step trace (forward, loss, backward, sgd update) of the tiny network."""
    trace = trace_step(
        tiny_network(), get_loss("mse"), [[TINY_X]], [[TINY_Y]], "sgd", {"lr": TINY_LR}, TINY_LR
    )
    return {
        "title": "One input, one hidden neuron, one output",
        "source": "3Blue1Brown, Backpropagation calculus: a chain of single sigmoid neurons, C = (a − y)²",
        "config": tiny_network_config(),
        "trace": trace,
    }
