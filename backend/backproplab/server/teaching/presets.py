"""Ready-made RunConfigs for the teaching views: vanishing gradients, their fix, and the textbook network."""

from __future__ import annotations

from typing import Any

from ...engine.config import RunConfig
from ...engine.textbook import tiny_network_config

DEEP = {"dataset": {"kind": "circle", "samples": 400, "noise": 0.1}, "batch_size": 10}
DEEP_HIDDEN = [8, 8, 8, 8, 8, 8]


def presets() -> list[dict[str, Any]]:
    """The presets, each with a validated RunConfig (POST its ``config`` to /api/runs to use it)."""
    entries = [
        (
            "vanishing",
            "Vanishing gradients: six sigmoid layers",
            "σ'(z) ≤ 1/4, so every sigmoid layer shrinks the gradient on its way back: the first layer's "
            "gradient norm ends up orders of magnitude below the last layer's and it barely learns.",
            {
                **DEEP,
                "model": {"hidden": DEEP_HIDDEN, "activation": "sigmoid", "init": "xavier_normal"},
                "optimizer": {"name": "sgd", "lr": 0.1},
            },
        ),
        (
            "fixed",
            "The fix: ReLU with He initialisation",
            "ReLU's derivative is 1 where a unit is active and He init keeps the signal's variance from layer "
            "to layer, so gradients reach the first layer at a similar size and every layer learns.",
            {
                **DEEP,
                "model": {"hidden": DEEP_HIDDEN, "activation": "relu", "init": "he_normal"},
                "optimizer": {"name": "sgd", "lr": 0.1},
            },
        ),
        (
            "textbook",
            "Textbook: one input, one hidden neuron, one output",
            "x = 1, y = 1 through σ(0.8x + 0.2) and σ(0.4a₁ − 0.1) with C = (a₂ − y)²: small enough to "
            "follow every factor of the chain rule by hand.",
            tiny_network_config(),
        ),
    ]
    return [
        {"id": key, "title": title, "description": text, "config": RunConfig.model_validate(config)}
        for key, title, text, config in entries
    ]
