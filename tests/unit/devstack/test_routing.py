"""Route templates and resolution, following the Functions host's ASP.NET routing rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.routing import (
    MethodNotAllowed,
    NoRoute,
    RouteMatch,
    RouteTable,
    RouteTemplate,
    RouteTemplateError,
    route_prefix_from_host_json,
)

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def table(*routes: tuple[str, list[str] | None], prefix: str = "api") -> RouteTable[str]:
    routes_table: RouteTable[str] = RouteTable(prefix)
    for template, methods in routes:
        routes_table.add(template, methods, template)
    return routes_table


def matched(result: RouteMatch[str] | MethodNotAllowed | NoRoute) -> RouteMatch[str]:
    assert isinstance(result, RouteMatch), result
    return result


def test_literal_segments_match_case_insensitively() -> None:
    # GIVEN a literal route
    routes = table(("Health/Check", ["GET"]))

    # WHEN the path differs only in case (prefix included) THEN it matches
    assert matched(routes.resolve("get", "/API/health/CHECK")).target == "Health/Check"


def test_parameters_are_url_decoded() -> None:
    routes = table(("tenants/{tenantId}/connector", ["GET"]))

    result = matched(routes.resolve("GET", "/api/tenants/a%20b%2Fc/connector"))

    assert result.route_params == {"tenantId": "a b/c"}


def test_optional_parameter_may_be_absent_and_is_then_left_out() -> None:
    routes = table(("items/{id}/{label?}", None))

    assert matched(routes.resolve("GET", "/api/items/7")).route_params == {"id": "7"}
    assert matched(routes.resolve("GET", "/api/items/7/red")).route_params == {"id": "7", "label": "red"}
    assert isinstance(routes.resolve("GET", "/api/items/7/red/extra"), NoRoute)
    assert isinstance(routes.resolve("GET", "/api/items"), NoRoute)


def test_default_value_is_used_when_the_segment_is_absent() -> None:
    routes = table(("pages/{page=1}", None))

    assert matched(routes.resolve("GET", "/api/pages")).route_params == {"page": "1"}
    assert matched(routes.resolve("GET", "/api/pages/4")).route_params == {"page": "4"}


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("{v:int}", "-42", "4.2"),
        ("{v:int}", "2147483647", "2147483648"),
        ("{v:long}", "2147483648", "x"),
        ("{v:guid}", GUID, "not-a-guid"),
        ("{v:guid}", GUID.replace("-", ""), GUID + "0"),
        ("{v:alpha}", "abcXYZ", "abc1"),
        ("{v:bool}", "True", "yes"),
        ("{v:double}", "1.5e3", "nan"),
        ("{v:decimal}", "10.25", "ten"),
        ("{v:datetime}", "2024-01-02T03:04:05", "yesterday"),
        ("{v:minlength(3)}", "abc", "ab"),
        ("{v:maxlength(3)}", "abc", "abcd"),
        ("{v:length(2)}", "ab", "abc"),
        ("{v:length(2,3)}", "abc", "a"),
        ("{v:min(10)}", "10", "9"),
        ("{v:max(10)}", "10", "11"),
        ("{v:range(1,5)}", "5", "6"),
        ("{v:int:min(1)}", "3", "0"),
    ],
)
def test_constraints_decide_whether_a_value_matches(template: str, good: str, bad: str) -> None:
    # GIVEN a constrained parameter
    routes = table((template, None))

    # WHEN a value satisfies / violates the constraint THEN it matches / does not match
    assert matched(routes.resolve("GET", f"/api/{good}")).route_params == {"v": good}
    assert isinstance(routes.resolve("GET", f"/api/{bad}"), NoRoute)


def test_regex_constraint() -> None:
    routes = table(("codes/{code:regex(^[a-z]+-\\d+$)}", None))

    assert matched(routes.resolve("GET", "/api/codes/ab-12")).route_params == {"code": "ab-12"}
    assert isinstance(routes.resolve("GET", "/api/codes/ab12"), NoRoute)


def test_catch_all_takes_the_rest_of_the_path() -> None:
    routes = table(("files/{*path}", ["GET"]))

    assert matched(routes.resolve("GET", "/api/files/a/b/c.txt")).route_params == {"path": "a/b/c.txt"}
    assert matched(routes.resolve("GET", "/api/files")).route_params == {}


def test_literal_segments_beat_parameters_whatever_the_registration_order() -> None:
    # GIVEN a parameter route registered before a literal one that overlaps it
    routes = table(("things/{name}", ["GET"]), ("things/new", ["GET"]), ("things/{*rest}", ["GET"]))

    # WHEN resolving the literal path THEN the literal route wins; other names go to the parameter
    assert matched(routes.resolve("GET", "/api/things/new")).target == "things/new"
    assert matched(routes.resolve("GET", "/api/things/old")).target == "things/{name}"
    assert matched(routes.resolve("GET", "/api/things/a/b")).target == "things/{*rest}"


def test_constrained_parameters_beat_unconstrained_ones() -> None:
    routes = table(("items/{name}", ["GET"]), ("items/{id:int}", ["GET"]))

    assert matched(routes.resolve("GET", "/api/items/12")).target == "items/{id:int}"
    assert matched(routes.resolve("GET", "/api/items/twelve")).target == "items/{name}"


def test_same_path_with_other_method_is_method_not_allowed() -> None:
    # GIVEN routes on one path for GET and for POST
    routes = table(("items", ["GET"]), ("items", ["POST"]), ("items/{id:int}", ["DELETE"]))

    # WHEN the path is called with PUT THEN 405 lists the methods the path accepts
    result = routes.resolve("PUT", "/api/items")
    assert result == MethodNotAllowed(frozenset({"GET", "POST"}))
    assert matched(routes.resolve("post", "/api/items")).target == "items"


def test_method_is_matched_before_precedence() -> None:
    # GIVEN a literal route for GET only and a parameter route for POST
    routes = table(("things/new", ["GET"]), ("things/{name}", ["POST"]))

    # WHEN posting to the literal path THEN the parameter route serves it
    assert matched(routes.resolve("POST", "/api/things/new")).target == "things/{name}"


def test_paths_outside_the_prefix_do_not_match() -> None:
    routes = table(("health", None))

    assert isinstance(routes.resolve("GET", "/health"), NoRoute)
    assert isinstance(routes.resolve("GET", "/apix/health"), NoRoute)
    assert matched(routes.resolve("GET", "/api/health/")).target == "health"


def test_empty_route_prefix_serves_from_the_root() -> None:
    routes = table(("health", None), prefix="")

    assert matched(routes.resolve("GET", "/health")).target == "health"
    assert routes.public_path(RouteTemplate.parse("health")) == "/health"


def test_public_path_includes_the_prefix() -> None:
    routes = table(prefix="/v1/api/")
    assert routes.public_path(RouteTemplate.parse("/items/{id}")) == "/v1/api/items/{id}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("items/{id}.json", "mixes text and parameters"),
        ("items/{a}{b}", "mixes text and parameters"),
        ("items//x", "empty segment"),
        ("items/{1abc}", "not a valid parameter name"),
        ("items/{id}/{id}", "repeats parameter"),
        ("items/{*rest}/more", "must be last"),
        ("items/{id?}/more", "may only be followed by optional"),
        ("items/{id:unknown}", "unknown constraint"),
        ("items/{id:min(x)}", "whole-number argument"),
        ("items/{id:int(3)}", "takes no arguments"),
        ("items/{id:regex([)}", "bad regex"),
    ],
)
def test_invalid_templates_are_rejected(template: str, message: str) -> None:
    with pytest.raises(RouteTemplateError, match=message):
        RouteTemplate.parse(template)


def test_route_prefix_comes_from_host_json(tmp_path: Path) -> None:
    # GIVEN host.json files with and without a routePrefix
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "/v2/"}}}))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"extensions": {"http": {"routePrefix": ""}}}))
    none = tmp_path / "none.json"
    none.write_text(json.dumps({"version": "2.0"}))

    # THEN the prefix is read, empty is allowed, and "api" is the default
    assert route_prefix_from_host_json(custom) == "v2"
    assert route_prefix_from_host_json(empty) == ""
    assert route_prefix_from_host_json(none) == "api"
    assert route_prefix_from_host_json(tmp_path / "missing.json") == "api"


def test_non_string_route_prefix_is_an_error(tmp_path: Path) -> None:
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"extensions": {"http": {"routePrefix": 5}}}))

    with pytest.raises(ValueError, match="routePrefix must be a string"):
        route_prefix_from_host_json(host_json)
