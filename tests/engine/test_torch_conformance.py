"""Losses, activations and initialisers against torch (float64): values, gradients and the exact
bounds/standard deviations torch.nn.init samples from.

Reference: tests/fixtures/torch_reference.json; tests marked ``torch`` recompute it with the installed
torch. Tolerance rtol 1e-9 with atol 1e-12 (for values that are 0 in one and ~1e-20 in the other).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backproplab.engine.activations import ACTIVATIONS, get_activation, sigmoid, softmax
from backproplab.engine.init import INIT_SCHEMES, init_bias, init_weight
from backproplab.engine.losses import LOSSES, get_loss

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "torch_reference.json").read_text())
LOSS_CASES = {case["loss"]: case for case in REFERENCE["losses"]}
ACTIVATION_CASES = {case["activation"]: case for case in REFERENCE["activations"]}
INIT_CASES = {f"{case['scheme']}-{case['fan_in']}x{case['fan_out']}": case for case in REFERENCE["init"]}
RTOL, ATOL = 1e-9, 1e-12


def engine_loss(case: dict) -> dict:
    """Value and gradient with respect to what the loss reads: logits if fused, outputs otherwise."""
    loss = get_loss(case["loss"])
    prediction = np.array(case["prediction"])
    target = np.array(case["target"], dtype=np.float64)
    output = {"sigmoid": sigmoid, "softmax": softmax}.get(loss.fused_activation, lambda z: z)(prediction)
    result = loss.evaluate(prediction, output, target)
    return {"value": result.value, "grad": result.grad}


def engine_activation(case: dict) -> dict:
    activation = get_activation(case["activation"], "test")
    z = np.array(case["z"])
    a = activation.forward(z)
    return {"value": a, "grad": activation.backward(z, a, np.array(case["upstream"]))}


def assert_same(engine: dict, torch_result: dict) -> None:
    np.testing.assert_allclose(engine["value"], torch_result["value"], rtol=RTOL, atol=ATOL, err_msg="value")
    np.testing.assert_allclose(engine["grad"], torch_result["grad"], rtol=RTOL, atol=ATOL, err_msg="gradient")


def test_every_loss_and_activation_is_covered():
    assert set(LOSS_CASES) == set(LOSSES)
    assert set(ACTIVATION_CASES) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", LOSS_CASES)
def test_loss_matches_torch_reference(name):
    assert_same(engine_loss(LOSS_CASES[name]), LOSS_CASES[name]["torch"])


@pytest.mark.parametrize("name", ACTIVATION_CASES)
def test_activation_matches_torch_reference(name):
    assert_same(engine_activation(ACTIVATION_CASES[name]), ACTIVATION_CASES[name]["torch"])


@pytest.mark.torch
@pytest.mark.parametrize("name", LOSS_CASES)
def test_loss_matches_live_torch(name, torch_generator):
    case = LOSS_CASES[name]
    assert_same(
        engine_loss(case), torch_generator.loss_value_and_grad(name, case["prediction"], case["target"])
    )


@pytest.mark.torch
@pytest.mark.parametrize("name", ACTIVATION_CASES)
def test_activation_matches_live_torch(name, torch_generator):
    case = ACTIVATION_CASES[name]
    assert_same(
        engine_activation(case), torch_generator.activation_value_and_grad(name, case["z"], case["upstream"])
    )


@pytest.mark.torch
def test_softplus_derivative_differs_from_torch_only_in_its_linear_window(torch_generator):
    """torch's softplus returns z (derivative exactly 1) for z > 20; the engine keeps log1p and σ(z).

    The values still agree to ~1e-10 relative; the derivative differs by σ(−z) < e^(−20) ≈ 2.1e-9.
    """
    z = [20.001, 20.5, 21.0]
    engine = engine_activation({"activation": "softplus", "z": z, "upstream": [1.0] * 3})
    torch_result = torch_generator.activation_value_and_grad("softplus", z, [1.0] * 3)
    np.testing.assert_allclose(engine["value"], torch_result["value"], rtol=RTOL)
    np.testing.assert_allclose(engine["grad"], torch_result["grad"], rtol=0.0, atol=np.exp(-20.0))


class RecordingRng:
    """Stands in for np.random.Generator and records which distribution each draw asks for."""

    def __init__(self):
        self.calls: list[list] = []

    def uniform(self, low, high, size):
        self.calls.append(["uniform", low, high])
        return np.zeros(size)

    def normal(self, loc, scale, size):
        self.calls.append(["normal", loc, scale])
        return np.zeros(size)

    def standard_normal(self, size):
        self.calls.append(["normal", 0.0, 1.0])
        return np.zeros(size)


def engine_init_calls(scheme: str, fan_in: int, fan_out: int) -> dict:
    weight_rng, bias_rng = RecordingRng(), RecordingRng()
    assert init_weight(scheme, fan_in, fan_out, weight_rng).shape == (fan_in, fan_out)
    assert init_bias(scheme, fan_in, fan_out, bias_rng).shape == (fan_out,)
    return {"weight": weight_rng.calls, "bias": bias_rng.calls}


def assert_same_distribution(engine_call: list, torch_call: list) -> None:
    assert engine_call[0] == torch_call[0]
    np.testing.assert_allclose(engine_call[1:], torch_call[1:], rtol=1e-15, atol=0.0)


@pytest.mark.parametrize("case_id", INIT_CASES)
def test_init_distribution_matches_torch_reference(case_id):
    case = INIT_CASES[case_id]
    engine = engine_init_calls(case["scheme"], case["fan_in"], case["fan_out"])
    assert len(engine["weight"]) == 1
    assert_same_distribution(engine["weight"][0], case["torch"]["weight"])
    if case["torch"]["bias"] is None:
        assert engine["bias"] == []  # zeros, no draw
    else:
        assert len(engine["bias"]) == 1
        assert_same_distribution(engine["bias"][0], case["torch"]["bias"])


@pytest.mark.torch
@pytest.mark.parametrize("case_id", INIT_CASES)
def test_init_distribution_matches_live_torch(case_id, torch_generator):
    case = INIT_CASES[case_id]
    assert (
        torch_generator.init_sampler_calls(case["scheme"], case["fan_in"], case["fan_out"]) == case["torch"]
    )


def test_every_random_init_scheme_is_covered_and_zeros_draws_nothing():
    assert {case["scheme"] for case in REFERENCE["init"]} == set(INIT_SCHEMES) - {"zeros"}
    engine = engine_init_calls("zeros", 3, 4)
    assert engine == {"weight": [], "bias": []}
    np.testing.assert_array_equal(init_weight("zeros", 3, 4, np.random.default_rng(0)), 0.0)
