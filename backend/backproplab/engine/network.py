"""A fully connected network of dense layers, ``a_out = act(a_in @ W + b)`` with W of shape (fan_in, fan_out).

Forward caches what backward needs (the layer input, z and a); backward fills ``grad_W`` and ``grad_b`` and
returns the gradient with respect to the layer input. Parameters change only through an optimizer.

Parameters are named ``W0, b0, W1, b1, …`` (layer index from the input side); optimizers key their state
by these names.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from .activations import Activation, get_activation
from .errors import ConfigError
from .init import init_bias, init_weight


class DenseLayer:
    """One dense layer: z = a_in @ W + b, a = f(z)."""

    __slots__ = ("W", "a", "a_in", "activation", "b", "grad_W", "grad_b", "z")

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: Activation):
        self.W = np.array(W, dtype=np.float64)
        self.b = np.array(b, dtype=np.float64)
        self.activation = activation
        self.grad_W = np.zeros_like(self.W)
        self.grad_b = np.zeros_like(self.b)
        # What forward caches for backward; None until the first forward.
        self.a_in: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None

    @property
    def fan_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def fan_out(self) -> int:
        return int(self.W.shape[1])

    def pre_activation(self, a_in: np.ndarray) -> np.ndarray:
        """z = a_in @ W + b, without caching anything."""
        z: np.ndarray = a_in @ self.W + self.b
        return z

    def forward(self, a_in: np.ndarray) -> np.ndarray:
        """z = a_in @ W + b; a = f(z). Caches a_in, z and a for backward."""
        z = self.pre_activation(a_in)
        a = self.activation.forward(z)
        self.a_in, self.z, self.a = a_in, z, a
        return a

    def cached(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a_in, z, a) of the last forward pass."""
        if self.a_in is None or self.z is None or self.a is None:
            raise RuntimeError("backward needs a forward pass first")
        return self.a_in, self.z, self.a

    def backward_from_z(self, grad_z: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given ∂L/∂z (batch, fan_out):

        ∂L/∂W = a_inᵀ · ∂L/∂z      (z_j = Σ_i a_in_i W_ij + b_j, so ∂z_j/∂W_ij = a_in_i)
        ∂L/∂b = Σ_batch ∂L/∂z       (∂z_j/∂b_j = 1)
        ∂L/∂a_in = ∂L/∂z · Wᵀ       (∂z_j/∂a_in_i = W_ij)
        """
        a_in = self.cached()[0]
        np.matmul(a_in.T, grad_z, out=self.grad_W)
        np.add.reduce(grad_z, axis=0, out=self.grad_b)
        if not need_input_grad:
            return None
        grad_a_in: np.ndarray = grad_z @ self.W.T
        return grad_a_in

    def backward(self, grad_a: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given ∂L/∂a: ∂L/∂z = ∂L/∂a ⊙ f'(z) (chain rule through the activation), then as above."""
        _, z, a = self.cached()
        return self.backward_from_z(self.activation.backward(z, a, grad_a), need_input_grad)


class Network:
    """A stack of :class:`DenseLayer`; ``forward`` gives the output, ``backward`` every gradient."""

    def __init__(self, layers: list[DenseLayer]):
        self.layers = layers

    @classmethod
    def build(
        cls,
        sizes: list[int],
        activation: str,
        output_activation: str,
        init: str,
        rng: np.random.Generator,
        weights: list[dict[str, Any]] | None = None,
    ) -> Network:
        """A network with layer widths ``sizes`` = [inputs, hidden..., outputs].

        Weights come from ``weights`` ([{"W": .., "b": ..}, ..], one per layer) when given, else from
        ``init`` drawn with ``rng`` layer by layer from the input side.
        """
        hidden_act = get_activation(activation, "model.activation")
        out_act = get_activation(output_activation, "model.output_activation")
        if hidden_act.name == "softmax":
            raise ConfigError("model.activation", "softmax is only available as an output activation")
        n_layers = len(sizes) - 1
        if weights is not None and len(weights) != n_layers:
            raise ConfigError("model.weights", f"expected {n_layers} layers of weights, got {len(weights)}")
        layers = []
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            act = out_act if index == n_layers - 1 else hidden_act
            if weights is None:
                W = init_weight(init, fan_in, fan_out, rng)
                b = init_bias(init, fan_in, fan_out, rng)
            else:
                W, b = _checked_weights(weights[index], index, fan_in, fan_out)
            layers.append(DenseLayer(W, b, act))
        return cls(layers)

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].fan_in] + [layer.fan_out for layer in self.layers]

    @property
    def output_layer(self) -> DenseLayer:
        return self.layers[-1]

    @property
    def logits(self) -> np.ndarray:
        """z_L of the last forward pass (what fused losses read)."""
        return self.output_layer.cached()[1]

    def forward(self, X: np.ndarray) -> np.ndarray:
        """The output a_L for inputs X (batch, inputs), caching every layer's a_in, z and a."""
        a = X
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def backward(
        self, grad: np.ndarray, grad_is_logits: bool, need_input_grad: bool = False
    ) -> np.ndarray | None:
        """Backpropagate from the output: ``grad`` is ∂L/∂z_L if ``grad_is_logits`` (fused losses) else ∂L/∂a_L.

        Walks the layers from the output to the input applying each layer's chain rule; fills every
        ``grad_W``/``grad_b`` and returns ∂L/∂X when ``need_input_grad``.
        """
        last = len(self.layers) - 1
        upstream: np.ndarray | None = grad
        for index in range(last, -1, -1):
            layer = self.layers[index]
            assert upstream is not None  # every layer above the first passes its input gradient down
            want_input = need_input_grad or index > 0
            if index == last and grad_is_logits:
                upstream = layer.backward_from_z(upstream, want_input)
            else:
                upstream = layer.backward(upstream, want_input)
        return upstream

    def layer_outputs(self, X: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(z_l, a_l) of every layer for inputs X, from the input side, without touching the caches.

        The one non-caching forward loop: predictions, logits, per-layer activations and dead-unit counts
        all read it.
        """
        a = X
        for layer in self.layers:
            z = layer.pre_activation(a)
            a = layer.activation.forward(z)
            yield z, a

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The output for X without touching the caches backward relies on."""
        return self.predict_with_logits(X)[1]

    def predict_with_logits(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_L, a_L) for X without touching the caches: fused losses read the logits z_L."""
        logits, output = deque(self.layer_outputs(X), maxlen=1)[0]
        return logits, output

    def hidden_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Every layer's activation for X (without touching the caches): [a_1, …, a_L]."""
        return [a for _, a in self.layer_outputs(X)]

    def params(self) -> dict[str, np.ndarray]:
        """Every parameter by name (the arrays themselves, so in-place updates reach the network)."""
        named = {}
        for index, layer in enumerate(self.layers):
            named[f"W{index}"] = layer.W
            named[f"b{index}"] = layer.b
        return named

    def grads(self) -> dict[str, np.ndarray]:
        """Every parameter's last gradient, keyed like :meth:`params`."""
        named = {}
        for index, layer in enumerate(self.layers):
            named[f"W{index}"] = layer.grad_W
            named[f"b{index}"] = layer.grad_b
        return named

    def weights(self) -> list[dict[str, np.ndarray]]:
        """Copies of the weights as [{"W": .., "b": ..}, ..], the shape ``build(weights=...)`` takes."""
        return [{"W": layer.W.copy(), "b": layer.b.copy()} for layer in self.layers]

    def load_weights(self, weights: list[dict[str, Any]]) -> None:
        """Overwrite the weights in place from [{"W": .., "b": ..}, ..] (optimizer state keeps its arrays)."""
        if len(weights) != len(self.layers):
            raise ConfigError("model.weights", f"expected {len(self.layers)} layers, got {len(weights)}")
        for index, (layer, entry) in enumerate(zip(self.layers, weights, strict=True)):
            W, b = _checked_weights(entry, index, layer.fan_in, layer.fan_out)
            layer.W[...] = W
            layer.b[...] = b

    def parameter_count(self) -> int:
        return sum(layer.W.size + layer.b.size for layer in self.layers)


def _checked_weights(
    entry: dict[str, Any], index: int, fan_in: int, fan_out: int
) -> tuple[np.ndarray, np.ndarray]:
    """W and b of one layer from user input, as float64, with errors naming the layer and the shape."""
    field = f"model.weights.{index}"
    try:
        W = np.asarray(entry["W"], dtype=np.float64)
        b = np.asarray(entry["b"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(field, f"needs numeric 'W' and 'b' ({error})") from None
    if W.shape != (fan_in, fan_out):
        raise ConfigError(f"{field}.W", f"shape {W.shape} does not match ({fan_in}, {fan_out})")
    if b.shape != (fan_out,):
        raise ConfigError(f"{field}.b", f"shape {b.shape} does not match ({fan_out},)")
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ConfigError(field, "weights must be finite numbers")
    return W, b
