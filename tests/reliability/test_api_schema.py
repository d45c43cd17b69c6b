"""Schemathesis against the running gateway's own ``/openapi.json``, with valid tokens.

Every published operation gets generated requests, valid (positive) and invalid (negative) by
its schema, over real sockets, each with the credential its route takes (a collector's
subscription token or the admin's sign-in token). Every answer must be a non-5xx status the
operation declares, with the declared content type, headers and body schema.
"""

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..integration.server import Gateway
from .conftest import sign_in, subscription

EXAMPLES = 25  # per operation and generation mode: bounded for CI
COLLECTOR_PATHS = ("/cdr/v1/ingest", "/cdr/v1/azure/connectors/register")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def fuzz(
    gateway: Gateway, operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, token: str
) -> tuple[int, str | None]:
    """Up to EXAMPLES generated requests to one operation: (requests sent, first failure)."""
    session = requests.Session()
    session.trust_env = False  # never a proxy for loopback
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case[Any]) -> None:
        nonlocal sent
        headers = {**dict(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(base_url=gateway.base_url, session=session, headers=headers)
        sent += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        check()
    except Unsatisfiable:  # no invalid request exists (an operation without parameters)
        assert mode is GenerationMode.NEGATIVE
    except (Exception, BaseExceptionGroup) as error:  # reported with all the others, not alone
        return sent, f"{operation.label} ({mode.value}): {error}"
    return sent, None


def test_every_operation_conforms_and_never_fails(gateway: Gateway) -> None:
    auth = sign_in(gateway)
    collector = subscription(gateway, auth)
    schema = schemathesis.openapi.from_url(f"{gateway.base_url}/openapi.json")
    failures: list[str] = []
    operations = requests_sent = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the gateway's document is valid OpenAPI
        operation = result.ok()
        token = collector if operation.path in COLLECTOR_PATHS else auth
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent, failure = fuzz(gateway, operation, mode, token)
            requests_sent += sent
            if failure:
                failures.append(failure)
    print(f"schemathesis: {operations} operations, {requests_sent} requests")
    assert failures == [], "\n\n".join(failures)
    assert operations >= 25
