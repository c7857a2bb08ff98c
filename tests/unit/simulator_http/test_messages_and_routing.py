"""The shared request values, router and fault injector: the rules both simulators rely on."""

from __future__ import annotations

import pytest

from devstack.simulator_http import FaultInjector, FaultRule, MalformedBody, Request, Response, Router


def _request(body: bytes = b"", query: str = "") -> Request:
    return Request("POST", "/x", query, {"content-type": "application/json"}, body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "empty"), (b"  ", "empty"), (b"{nope", "invalid"), (b"\xff", "invalid"), (b"[1]", "notObject")],
)
def test_a_body_that_is_not_a_json_object_is_malformed_with_its_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedBody) as raised:
        _request(body).json_object()
    assert raised.value.reason == reason


def test_an_optional_body_may_be_empty() -> None:
    assert _request().json_object(required=False) == {}
    assert _request(b'{"a": 1}').json_object() == {"a": 1}


def test_query_form_and_headers_are_decoded() -> None:
    request = Request("POST", "/x", "a=1&a=2&b=%20c", {"x-one": "1"}, b"grant_type=code&code=a%2Bb")
    assert request.query == {"a": "1", "b": " c"}
    assert request.query_lists["a"] == ["1", "2"]
    assert request.form() == {"grant_type": "code", "code": "a+b"}
    assert request.header("X-One") == "1"
    assert request.with_params({"id": "7"}).params == {"id": "7"}


def test_json_and_redirect_responses() -> None:
    response = Response.json(201, {"a": 1}, {"X": "y"})
    assert response.body == b'{"a": 1}'
    assert response.headers["Content-Type"].startswith("application/json")
    assert Response.redirect("https://x/cb?code=1").headers["Location"] == "https://x/cb?code=1"


def test_the_router_tells_unknown_paths_from_wrong_methods() -> None:
    router = Router()
    router.add("GET", "/v1/things/(?P<id>[^/]+)", lambda r: Response.empty(200))
    found = router.match("GET", "/v1/things/42")
    assert isinstance(found, tuple)
    assert found[1] == {"id": "42"}
    assert router.match("DELETE", "/v1/things/42") is False
    assert router.match("GET", "/v1/other") is None
    assert router.match("GET", "/V1/things/42") is None


def test_a_case_insensitive_router_matches_any_case() -> None:
    router = Router(case_insensitive=True)
    router.add("GET", "/v1.0/users", lambda r: Response.empty(200))
    assert isinstance(router.match("get", "/V1.0/Users"), tuple)


def test_a_fault_is_used_up_after_its_count_and_matches_method_and_prefix() -> None:
    faults = FaultInjector()
    faults.add(FaultRule("/v1/agents", "PUT", 2, 429, 3))
    assert faults.take("GET", "/v1/agents/session/state") is None
    first = faults.take("put", "/v1/agents/session/state")
    assert first is not None
    assert (first.status, first.retry_after_seconds, first.remaining) == (429, 3, 1)
    assert faults.take("PUT", "/v1/agents/x") is not None
    assert faults.take("PUT", "/v1/agents/x") is None
    assert faults.rules() == []


def test_fault_prefixes_follow_the_case_rule_of_their_injector() -> None:
    strict, relaxed = FaultInjector(), FaultInjector(case_insensitive=True)
    for injector in (strict, relaxed):
        injector.add(FaultRule("/v1.0/Users", None, 1, 503, 1))
    assert strict.take("GET", "/v1.0/users") is None
    assert relaxed.take("GET", "/v1.0/users") is not None
