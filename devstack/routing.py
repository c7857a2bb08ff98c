"""Azure Functions HTTP route templates and the table that resolves requests against them.

Templates follow ASP.NET routing, which the Functions host uses: literal segments match
case-insensitively, `{name}` matches one non-empty segment, `{name?}` may be absent, `{name=value}`
has a default, `{name:int}` (constraints chain: `{n:int:min(1)}`) must satisfy the constraint,
`{*rest}` takes the rest of the path. Complex segments mixing text and parameters are rejected.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import unquote

DEFAULT_ROUTE_PREFIX = "api"

T = TypeVar("T")

# Lower is more specific; compared segment by segment like ASP.NET's inbound route precedence.
_RANK_LITERAL = 1
_RANK_CONSTRAINED_PARAMETER = 3
_RANK_PARAMETER = 4
_RANK_CONSTRAINED_CATCH_ALL = 5
_RANK_CATCH_ALL = 6

_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONSTRAINT = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<args>.*)\))?$", re.DOTALL)
# The textual forms .NET's Guid.TryParse accepts: N, D, B and P.
_GUID_D = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID = re.compile(rf"[0-9a-f]{{32}}|{_GUID_D}|\{{{_GUID_D}\}}|\({_GUID_D}\)", re.IGNORECASE)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class RouteTemplateError(ValueError):
    """A route template the host would refuse to load."""


@dataclass(frozen=True)
class Constraint:
    name: str
    test: Callable[[str], bool] = field(repr=False, compare=False)

    def accepts(self, value: str) -> bool:
        return self.test(value)


@dataclass(frozen=True)
class LiteralSegment:
    text: str

    @property
    def rank(self) -> int:
        return _RANK_LITERAL


@dataclass(frozen=True)
class ParameterSegment:
    name: str
    constraints: tuple[Constraint, ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    @property
    def rank(self) -> int:
        if self.catch_all:
            return _RANK_CONSTRAINED_CATCH_ALL if self.constraints else _RANK_CATCH_ALL
        return _RANK_CONSTRAINED_PARAMETER if self.constraints else _RANK_PARAMETER

    @property
    def may_be_absent(self) -> bool:
        return self.optional or self.catch_all or self.default is not None

    def accepts(self, value: str) -> bool:
        return all(constraint.accepts(value) for constraint in self.constraints)


Segment = LiteralSegment | ParameterSegment


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        segments = tuple(_parse_segment(part, text) for part in _split(text))
        _validate(segments, text)
        return cls(text=text, segments=segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.rank for segment in self.segments)

    def match(self, path_segments: list[str]) -> dict[str, str] | None:
        """Route values for already URL-decoded path segments, or None when the path does not fit."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if isinstance(segment, ParameterSegment) and segment.catch_all:
                return values if _bind_rest(segment, path_segments[index:], values) else None
            if index >= len(path_segments):
                if not isinstance(segment, ParameterSegment) or not segment.may_be_absent:
                    return None
                if segment.default is not None:
                    values[segment.name] = segment.default
                continue
            value = path_segments[index]
            if isinstance(segment, LiteralSegment):
                if value.casefold() != segment.text.casefold():
                    return None
            elif value and segment.accepts(value):
                values[segment.name] = value
            else:
                return None
        return values if len(path_segments) <= len(self.segments) else None


def _bind_rest(segment: ParameterSegment, rest_segments: list[str], values: dict[str, str]) -> bool:
    rest = "/".join(rest_segments)
    if rest:
        if not segment.accepts(rest):
            return False
        values[segment.name] = rest
    elif segment.default is not None:
        values[segment.name] = segment.default
    return True


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T
    route_params: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: frozenset[str]


@dataclass(frozen=True)
class NoRoute:
    pass


@dataclass(frozen=True)
class _Route(Generic[T]):
    template: RouteTemplate
    methods: frozenset[str] | None
    target: T
    order: int


class RouteTable(Generic[T]):
    """Resolves (method, raw path) to a registered target, the way the Functions host routes."""

    def __init__(self, route_prefix: str = DEFAULT_ROUTE_PREFIX) -> None:
        self._prefix = [segment.casefold() for segment in _split(route_prefix)]
        self._routes: list[_Route[T]] = []

    @property
    def route_prefix(self) -> str:
        return "/".join(self._prefix)

    def add(self, template: RouteTemplate | str, methods: Iterable[str] | None, target: T) -> None:
        """Register a target; `methods=None` accepts every method."""
        parsed = template if isinstance(template, RouteTemplate) else RouteTemplate.parse(template)
        allowed = None if methods is None else frozenset(method.upper() for method in methods)
        self._routes.append(_Route(parsed, allowed, target, len(self._routes)))

    def public_path(self, template: RouteTemplate) -> str:
        """The path a client uses for a template, e.g. `/api/items/{id:int}`."""
        return "/" + "/".join([*self._prefix, *_split(template.text)])

    def resolve(self, method: str, raw_path: str) -> RouteMatch[T] | MethodNotAllowed | NoRoute:
        segments = [unquote(part) for part in _split(raw_path)]
        prefix_length = len(self._prefix)
        if [part.casefold() for part in segments[:prefix_length]] != self._prefix:
            return NoRoute()
        relative = segments[prefix_length:]
        matches = [
            (route, values)
            for route in self._routes
            if (values := route.template.match(relative)) is not None
        ]
        if not matches:
            return NoRoute()
        wanted = method.upper()
        accepting = [(route, values) for route, values in matches if _accepts(route, wanted)]
        if not accepting:
            allowed = frozenset().union(*(route.methods or frozenset() for route, _ in matches))
            return MethodNotAllowed(allowed)
        route, values = min(accepting, key=lambda item: (item[0].template.precedence, item[0].order))
        return RouteMatch(route.target, values)


def route_prefix_from_host_json(host_json: Path) -> str:
    """`extensions.http.routePrefix` from host.json; `api` when the file or the setting is absent."""
    if not host_json.is_file():
        return DEFAULT_ROUTE_PREFIX
    document = json.loads(host_json.read_text(encoding="utf-8"))
    extensions = document.get("extensions") if isinstance(document, dict) else None
    http = extensions.get("http") if isinstance(extensions, dict) else None
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX) if isinstance(http, dict) else None
    if prefix is None:
        return DEFAULT_ROUTE_PREFIX
    if not isinstance(prefix, str):
        raise ValueError(f"{host_json}: extensions.http.routePrefix must be a string, got {prefix!r}")
    return prefix.strip("/")


def _accepts(route: _Route[T], method: str) -> bool:
    return route.methods is None or method in route.methods


def _split(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _parse_segment(part: str, template: str) -> Segment:
    if "{" not in part and "}" not in part:
        if not part:
            raise RouteTemplateError(f"route {template!r} has an empty segment")
        return LiteralSegment(part)
    if not (part.startswith("{") and part.endswith("}")) or part.count("{") != 1:
        raise RouteTemplateError(
            f"route {template!r}: segment {part!r} mixes text and parameters, which the local host "
            "does not support; use one parameter per segment"
        )
    body = part[1:-1]
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    body, equals, default = body.partition("=")
    pieces = _split_constraints(body)
    name, constraint_texts = pieces[0], pieces[1:]
    optional = name.endswith("?")
    name = name.removesuffix("?")
    if constraint_texts and constraint_texts[-1].endswith("?"):
        optional = True
        constraint_texts[-1] = constraint_texts[-1].removesuffix("?")
    if not _PARAMETER_NAME.match(name):
        raise RouteTemplateError(f"route {template!r}: {name!r} is not a valid parameter name")
    if optional and equals:
        raise RouteTemplateError(f"route {template!r}: {name!r} cannot be optional and have a default")
    if catch_all and optional:
        raise RouteTemplateError(f"route {template!r}: catch-all {name!r} cannot be marked optional")
    constraints = tuple(_constraint(text, template) for text in constraint_texts)
    return ParameterSegment(
        name=name,
        constraints=constraints,
        optional=optional,
        default=default if equals else None,
        catch_all=catch_all,
    )


def _split_constraints(body: str) -> list[str]:
    """Split `name:c1:c2(args)` on colons that are outside constraint arguments."""
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == ":" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _validate(segments: tuple[Segment, ...], template: str) -> None:
    names = [segment.name for segment in segments if isinstance(segment, ParameterSegment)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RouteTemplateError(f"route {template!r} repeats parameter(s) {', '.join(duplicates)}")
    for index, segment in enumerate(segments):
        if isinstance(segment, ParameterSegment) and segment.catch_all and index != len(segments) - 1:
            raise RouteTemplateError(f"route {template!r}: catch-all {segment.name!r} must be last")
        if isinstance(segment, ParameterSegment) and segment.optional:
            following = segments[index + 1 :]
            if any(not (isinstance(s, ParameterSegment) and s.may_be_absent) for s in following):
                raise RouteTemplateError(
                    f"route {template!r}: optional {segment.name!r} may only be followed by optional "
                    "parameters"
                )


def _constraint(text: str, template: str) -> Constraint:
    match = _CONSTRAINT.match(text)
    if match is None:
        raise RouteTemplateError(f"route {template!r}: constraint {text!r} is malformed")
    name = match["name"].lower()
    raw_args = match["args"]
    args = [] if raw_args is None else [arg.strip() for arg in raw_args.split(",")]

    def needs(count: int) -> list[int]:
        if len(args) != count or not all(re.fullmatch(r"-?\d+", arg) for arg in args):
            raise RouteTemplateError(
                f"route {template!r}: constraint {text!r} needs {count} whole-number argument(s)"
            )
        return [int(arg) for arg in args]

    test: Callable[[str], bool]
    if name == "regex":
        if raw_args is None:
            raise RouteTemplateError(f"route {template!r}: constraint {text!r} needs a pattern")
        try:
            pattern = re.compile(raw_args, re.IGNORECASE)
        except re.error as error:
            raise RouteTemplateError(f"route {template!r}: bad regex in {text!r}: {error}") from error
        test = lambda value: pattern.search(value) is not None  # noqa: E731
    elif name in _SIMPLE_CONSTRAINTS:
        if raw_args is not None:
            raise RouteTemplateError(f"route {template!r}: constraint {name!r} takes no arguments")
        test = _SIMPLE_CONSTRAINTS[name]
    elif name in ("minlength", "maxlength"):
        (limit,) = needs(1)
        test = (lambda v: len(v) >= limit) if name == "minlength" else (lambda v: len(v) <= limit)
    elif name == "length":
        bounds = needs(1) if len(args) == 1 else needs(2)
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        test = lambda value: low <= len(value) <= high  # noqa: E731
    elif name in ("min", "max"):
        (limit,) = needs(1)
        test = _number_test(lambda n: n >= limit if name == "min" else n <= limit)
    elif name == "range":
        low, high = needs(2)
        test = _number_test(lambda n: low <= n <= high)
    else:
        raise RouteTemplateError(f"route {template!r}: unknown constraint {name!r}")
    return Constraint(name=text, test=test)


def _is_integer_in(value: str, bounds: tuple[int, int]) -> bool:
    return re.fullmatch(r"[+-]?\d+", value) is not None and bounds[0] <= int(value) <= bounds[1]


def _is_float(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _is_guid(value: str) -> bool:
    return _GUID.fullmatch(value) is not None


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _number_test(check: Callable[[int], bool]) -> Callable[[str], bool]:
    return lambda value: _is_integer_in(value, _INT64) and check(int(value))


_SIMPLE_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda value: _is_integer_in(value, _INT32),
    "long": lambda value: _is_integer_in(value, _INT64),
    "bool": lambda value: value.lower() in ("true", "false"),
    "float": _is_float,
    "double": _is_float,
    "decimal": _is_decimal,
    "guid": _is_guid,
    "datetime": _is_datetime,
    "alpha": lambda value: re.fullmatch(r"[A-Za-z]+", value) is not None,
    "required": lambda value: value != "",
}
