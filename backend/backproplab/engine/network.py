"""A fully connected network of dense layers, ``a_out = act(a_in @ W + b)`` with W of shape (fan_in, fan_out).

Forward caches what backward needs (the layer input, z and a); backward fills ``grad_W`` and ``grad_b`` and
returns the gradient with respect to the layer input. Parameters change only through an optimizer.

Parameters are named ``W0, b0, W1, b1, …`` (layer index from the input side); optimizers key their state
by these names.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from .activations import Activation, get_activation
from .errors import ConfigError
from .init import init_bias, init_weight

# Batch sizes a layer keeps buffers for at once: training's (and an epoch's smaller last batch), a
# trace's, a gradient check's. More distinct sizes than this are served by replacing the set.
MAX_BUFFERED_SIZES = 4


class DenseLayer:
    """One dense layer: z = a_in @ W + b, a = f(z).

    ``forward`` and ``backward`` write into buffers the layer keeps per batch size (allocating a fresh
    array per stage cost as much as the arithmetic on the playground's 10-row batches): what they return,
    and the cached ``z`` and ``a``, stay valid until the next forward or backward through this layer.
    """

    __slots__ = (
        "W",
        "_buffers",
        "_grad_in",
        "_grad_z",
        "_out_a",
        "_out_z",
        "_rows",
        "a",
        "a_in",
        "activation",
        "b",
        "grad_W",
        "grad_b",
        "z",
    )

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
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._rows = -1  # the batch size the current buffers are for
        empty: np.ndarray = np.empty((0, 0))
        self._out_z = self._out_a = self._grad_z = self._grad_in = empty

    @property
    def fan_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def fan_out(self) -> int:
        return int(self.W.shape[1])

    def _use_buffers(self, rows: int) -> None:
        """Make the (z, a, ∂L/∂z, ∂L/∂a_in) buffers for a batch of ``rows`` the current ones."""
        buffers = self._buffers.get(rows)
        if buffers is None:
            if len(self._buffers) >= MAX_BUFFERED_SIZES:
                self._buffers.clear()
            width = (rows, self.fan_out)
            buffers = (np.empty(width), np.empty(width), np.empty(width), np.empty((rows, self.fan_in)))
            self._buffers[rows] = buffers
        self._out_z, self._out_a, self._grad_z, self._grad_in = buffers
        self._rows = rows

    def pre_activation(self, a_in: np.ndarray) -> np.ndarray:
        """z = a_in @ W + b, a new array (nothing cached)."""
        z: np.ndarray = a_in @ self.W + self.b
        return z

    def forward(self, a_in: np.ndarray) -> np.ndarray:
        """z = a_in @ W + b; a = f(z). Caches a_in, z and a for backward; returns a (a buffer)."""
        if a_in.shape[0] != self._rows:
            self._use_buffers(a_in.shape[0])
        z, a = self._out_z, self._out_a
        # NOTE: ufuncs take ``out`` positionally here: parsing the keyword costs as much as a 10-row add.
        np.matmul(a_in, self.W, z)
        np.add(z, self.b, z)
        self.activation.forward_into(z, a)
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
        a_in = self.a_in
        if a_in is None:
            raise RuntimeError("backward needs a forward pass first")
        np.matmul(a_in.T, grad_z, self.grad_W)
        np.add.reduce(grad_z, axis=0, out=self.grad_b)
        if not need_input_grad:
            return None
        if grad_z.shape[0] != self._rows:
            self._use_buffers(grad_z.shape[0])
        np.matmul(grad_z, self.W.T, self._grad_in)
        return self._grad_in

    def backward(self, grad_a: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given ∂L/∂a: ∂L/∂z = f'(z) ⊙ ∂L/∂a (chain rule through the activation), then as above."""
        z, a = self.z, self.a
        if z is None or a is None:
            raise RuntimeError("backward needs a forward pass first")
        if z.shape[0] != self._rows:
            self._use_buffers(z.shape[0])
        self.activation.backward_into(z, a, grad_a, self._grad_z)
        return self.backward_from_z(self._grad_z, need_input_grad)


class Network:
    """A stack of :class:`DenseLayer`; ``forward`` gives the output, ``backward`` every gradient.

    Every parameter lives in one vector, ``flat_params`` (W0, b0, W1, b1, …, each W row-major), and every
    gradient in ``flat_grads``; each layer's W, b, grad_W and grad_b are views into them. So an update,
    a copy or a finiteness check of the whole network is one numpy call, and ``layer_starts`` splits the
    vectors by layer.
    """

    def __init__(self, layers: list[DenseLayer]):
        self.layers = layers
        total = sum(layer.W.size + layer.b.size for layer in layers)
        self.flat_params = np.empty(total)
        self.flat_grads = np.empty(total)
        starts, offset = [], 0
        for layer in layers:
            starts.append(offset)
            for name in ("W", "b"):
                value, grad = getattr(layer, name), getattr(layer, f"grad_{name}")
                view = self.flat_params[offset : offset + value.size].reshape(value.shape)
                grad_view = self.flat_grads[offset : offset + value.size].reshape(value.shape)
                view[...] = value
                grad_view[...] = grad
                setattr(layer, name, view)
                setattr(layer, f"grad_{name}", grad_view)
                offset += value.size
        self.layer_starts = np.array(starts, dtype=np.intp)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as fresh layers rebuilt into a new flat vector (pickling the views would copy each of
        them apart from the vector, and updates to the vector would no longer reach the layers)."""
        layers = [DenseLayer(layer.W, layer.b, layer.activation) for layer in self.layers]
        return (_network_with_grads, (layers, self.flat_grads.copy()))

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        """An independent copy (weights, gradients and caches), its own flat vectors and views."""
        copy = Network([DenseLayer(layer.W, layer.b, layer.activation) for layer in self.layers])
        copy.flat_grads[...] = self.flat_grads
        for mine, theirs in zip(copy.layers, self.layers, strict=True):
            for name in ("a_in", "z", "a"):
                cached = getattr(theirs, name)
                setattr(mine, name, None if cached is None else cached.copy())
        memo[id(self)] = copy
        return copy

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
        logits = self.layers[-1].z
        if logits is None:
            raise RuntimeError("the network has not run forward yet")
        return logits

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
        return int(self.flat_params.size)

    def params_finite(self) -> bool:
        """Whether every weight and bias is finite.

        # NOTE: one sum instead of isfinite per entry: any NaN or ±inf makes the sum non-finite. A sum of
        finite weights could overflow only with weights near 1e306, which is divergence in all but name.
        """
        return math.isfinite(float(np.add.reduce(self.flat_params)))


def _network_with_grads(layers: list[DenseLayer], grads: np.ndarray) -> Network:
    """A network of ``layers`` whose flat gradients are ``grads`` (what :meth:`Network.__reduce__` pickles)."""
    network = Network(layers)
    network.flat_grads[...] = grads
    return network


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
