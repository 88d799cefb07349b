"""What /openapi.json publishes is typed all the way down, and the engine's large answers match it.

The gradient check answers with the engine's JSON as is (no validation on the way out, for speed), so its
model is checked here against real answers over every task and loss shape; so are step-through traces for
every optimizer and the run descriptions a PATCH body or a one-click fix is a part of.
"""

from __future__ import annotations

import pytest

from backproplab.engine.optimizers import OPTIMIZERS
from backproplab.server.runs.schemas import RunOut, RunPatch
from backproplab.server.teaching.trace_schemas import GradCheck, StepTrace


def _untyped(node, path=""):
    """Paths in a JSON schema that accept any object or any value."""
    found = []
    if isinstance(node, dict):
        if node.get("additionalProperties") in (True, {}):
            found.append(f"{path} (any extra keys)")
        if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            found.append(f"{path} (any object)")
        for key, value in node.items():
            if key in ("examples", "example", "default"):
                continue
            if value == {} and key in ("items", "schema"):
                found.append(f"{path}/{key} (anything)")
            found.extend(_untyped(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_untyped(value, f"{path}[{index}]"))
    return found


def test_openapi_has_no_untyped_object(client):
    spec = client.get("/openapi.json").json()
    assert _untyped(spec["components"], "components") == []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    assert schema not in ({}, {"type": "object"}), (method, path)
                    assert _untyped(schema) == [], (method, path)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            assert _untyped(body.get("schema", {})) == [], (method, path)


def test_patch_body_is_published_with_every_setting_and_its_bounds(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    patch = schemas["RunPatch"]
    assert {"name", "keep_training", "optimizer", "model", "dataset"} <= set(patch["properties"])
    lr = schemas["OptimizerConfigPatch"]["properties"]["lr"]["anyOf"][0]
    assert lr["minimum"] == 0.0 and lr["maximum"] > 0


def test_a_patch_part_stays_a_part():
    part = RunPatch.model_validate({"optimizer": {"lr": 0.1, "momentum": None}, "name": "mine"})
    assert part.model_dump(mode="json") == {"optimizer": {"lr": 0.1, "momentum": None}, "name": "mine"}
    with pytest.raises(ValueError, match=r"optimizer\.lr"):
        RunPatch.model_validate({"optimizer": {"lr": -1}})


CONFIGS = [
    {"dataset": {"kind": "circle"}, "model": {"hidden": [3]}},
    {"dataset": {"kind": "spiral", "classes": 3}, "model": {"hidden": [4]}, "regularization": {"kind": "l2"}},
    {"dataset": {"kind": "sine"}, "model": {"hidden": [3], "activation": "relu"}, "loss": "huber"},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_gradcheck_answers_match_their_model(client, config):
    run = client.post("/api/runs", json=config).json()
    client.post(f"/api/runs/{run['id']}/step", json={"steps": 5})
    answer = client.get(f"/api/runs/{run['id']}/gradcheck?samples=3").json()
    checked = GradCheck.model_validate(answer)
    assert len(checked.layers) == len(config["model"]["hidden"]) + 1
    assert checked.overall.verdict == "ok"


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("config", CONFIGS[1:])
def test_step_through_answers_match_their_model(client, optimizer, config):
    run = client.post("/api/runs", json={**config, "optimizer": {"name": optimizer}}).json()
    client.post(f"/api/runs/{run['id']}/step", json={"steps": 3})
    answer = client.get(f"/api/runs/{run['id']}/stepthrough?sample=0&batch=2").json()
    trace = StepTrace.model_validate(answer)
    assert [stage.kind for stage in trace.stages][-1] == "update"
    assert trace.stages[-1].optimizer == optimizer


def test_a_run_description_carries_typed_parts(client):
    run = client.post("/api/runs", json={"optimizer": {"name": "adam"}}).json()
    described = RunOut.model_validate(client.get(f"/api/runs/{run['id']}").json())
    assert described.resolved.optimizer.model_dump() == {
        "name": "adam",
        "lr": 0.03,
        "betas": (0.9, 0.999),
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert described.latest.step == 0 and described.config.optimizer.name == "adam"
