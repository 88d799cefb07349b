"""Property test of the REST API from its own OpenAPI schema: no input makes the server answer 5xx.

Every operation that ``/openapi.json`` publishes is fuzzed with schemathesis's Hypothesis strategies: the
schema's own examples, valid inputs and invalid ones. Hypothesis's ``@given`` drives them directly (the
documented "strategies in custom workflows" use of schemathesis), not schemathesis's pytest plugin, so the
test depends on no pytest internals (the plugin broke on pytest 9.2: ``'Function' object has no attribute
'_nodeid'``). Every operation is run even after one fails, and the failure lists each one that answered 5xx.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.schemas import APIOperation
from server_harness import ServerProcess

# Bounded: 12 generated requests per operation and mode (plus the schema's examples), no shrinking.
FUZZ_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
NEVER_AN_ID = "never-a-real-id"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server whose computing requests are cheap: the fuzz is about input, not throughput. With
    the default budget one generated sweep or landscape may compute for seconds, and on a loaded machine
    for longer than a call may wait; requests over this budget are refused with 422, which is fuzzed too."""
    process = ServerProcess(tmp_path_factory.mktemp("fuzz"), {"BACKPROPLAB_MAX_REQUEST_WORK": "2e8"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api_schema(server):
    loaded = schemathesis.openapi.from_url(server.url + "/openapi.json")
    loaded.config.update(base_url=server.url)
    return loaded


@pytest.fixture(scope="module")
def real_run_id(server) -> str:
    run_id = httpx.post(server.url + "/api/runs", json={}).json()["id"]
    httpx.post(f"{server.url}/api/runs/{run_id}/step", json={"steps": 5})
    return run_id


def all_operations(schema) -> list[APIOperation]:
    """Every operation in the schema; a route the schema cannot describe is itself a failure."""
    return [result.ok() for result in schema.get_all_operations()]


def call_without_server_error(case: Case, server_url: str, real_run_id: str) -> None:
    """Send the generated request as is (unknown ids: 404) and, for run routes, against a real run."""
    generated = dict(case.path_parameters or {})
    attempts = [generated]
    if "run_id" in generated:
        if case.method.upper() == "DELETE":
            attempts = [{**generated, "run_id": NEVER_AN_ID}]  # keep the real run for the other routes
        else:
            attempts.append({**generated, "run_id": real_run_id})
    for path_parameters in attempts:
        case.path_parameters = path_parameters
        response = case.call(timeout=60)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:500]}"
        )
        if case.method.upper() == "POST" and case.path == "/api/runs" and response.status_code == 201:
            httpx.delete(f"{server_url}/api/runs/{response.json()['id']}")


def fuzz(strategy: st.SearchStrategy[Case], server_url: str, real_run_id: str) -> None:
    @FUZZ_SETTINGS
    @given(case=strategy)
    def check(case: Case) -> None:
        call_without_server_error(case, server_url, real_run_id)

    check()


def first_line(error: BaseException) -> str:
    """The error's first line, and its sub-exceptions' (Hypothesis reports a flaky check as a group: the
    status or timeout that failed the first call is in there)."""
    text = (str(error).strip().splitlines() or [repr(error)])[0]
    causes = getattr(error, "exceptions", ())
    return text + "".join(f" <- {type(cause).__name__}: {first_line(cause)}" for cause in causes)


def test_the_schema_publishes_the_run_routes(api_schema):
    labels = {operation.label for operation in all_operations(api_schema)}
    assert {"GET /api/health", "POST /api/runs", "GET /api/runs/{run_id}"} <= labels, sorted(labels)


def test_no_server_errors(api_schema, server, real_run_id):
    failures: list[str] = []
    for operation in all_operations(api_schema):
        examples = operation.get_strategies_from_examples()
        if examples:
            try:
                fuzz(st.one_of(examples), server.url, real_run_id)
            except Exception as error:  # every kind: a refused connection means the server died
                failures.append(f"{operation.label} (schema examples): {first_line(error)}")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation.as_strategy(mode), server.url, real_run_id)
            except Unsatisfiable:
                # NOTE: an operation with no parameter and no body has no invalid input to generate.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}): {first_line(error)}")
    assert not failures, "\n".join(failures)
