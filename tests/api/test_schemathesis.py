"""Property-based tests against the OpenAPI document (schemathesis): malformed input is a 4xx, never a 500.

Schemathesis generates valid and invalid requests for every operation and
checks each answer: no server error, a status code and content type the
document declares, a body matching the declared schema, and invalid data
refused. It runs against a live server on a copy of the demo store (POST
routes write tags and case files there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
import schemathesis
from ct_workbench import TOKEN, serve_store
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.errors import SerializationNotPossible

EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_server(demo, tmp_path_factory):
    store = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(demo.store, store)
    with serve_store(store, case_info=demo.case_info()) as api:
        yield api


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    # The token goes in through the spec's security scheme, so schemathesis knows when it leaves it out.
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}}})
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", config=config)


def _fuzz(op, mode, session, examples: int) -> list[str]:
    """Run one operation's generated cases; the failures, in words."""
    failures: list[str] = []

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        try:
            case.call_and_validate(session=session, checks=CHECKS)
        except Exception as exc:   # a FailureGroup: collect it, and go on to the other operations
            failures.append(f"{op.label} [{mode.value}]: {str(exc).strip().splitlines()[0][:300]}")

    try:
        run()
    except SerializationNotPossible:
        return []          # a raw upload body (zip, octet-stream) schemathesis cannot generate
    return failures


def test_no_5xx_and_conforms(api_schema):
    """Every operation, valid and invalid inputs (the pytest plugin does not run on this pytest)."""
    failures: list[str] = []
    ops = [r.ok() for r in api_schema.get_all_operations()]
    assert len(ops) >= 13
    with requests.Session() as session:
        for op in ops:
            # The case-file routes have their own tests; here they get a lighter pass.
            examples = EXAMPLES if not op.path.startswith("/api/v1/cases") else 3
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures += _fuzz(op, mode, session, examples)
    assert not failures, "\n".join(sorted(set(failures)))


def test_spec_covers_every_workbench_route(api_schema):
    paths = {op.path for op in (r.ok() for r in api_schema.get_all_operations())}
    for p in ("/api/v1/search", "/api/v1/addresses/{address}", "/api/v1/addresses/{address}/txs",
              "/api/v1/txs/{txid}", "/api/v1/entities/{entity_id}", "/api/v1/entities/{entity_id}/members",
              "/api/v1/entities/{entity_id}/members.ndjson", "/api/v1/graph/expand", "/api/v1/trace",
              "/api/v1/screen", "/api/v1/tags", "/api/v1/tags/search", "/api/v1/meta"):
        assert p in paths, p
    assert Path(__file__).name   # the module is collected by path
