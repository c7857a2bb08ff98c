"""The OData query options Graph accepts on /users: $filter, $search, $select, $orderby, $top."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from devstack.graph_simulator.errors import GraphApiError

Predicate = Callable[[dict[str, object]], bool]

# The $filter operators Graph supports per user property (docs: "filter-directory-objects", the user
# resource's property table): "default" works on any request, "advanced" only with advanced query
# parameters (ConsistencyLevel: eventual and $count=true). A property or operator not listed is
# refused with Request_UnsupportedQuery, as Graph does.
_D, _A = "default", "advanced"
FILTER_OPERATORS: dict[str, dict[str, str]] = {
    "id": {"eq": _D, "ne": _A, "not": _A, "in": _D},
    "accountEnabled": {"eq": _D, "ne": _A, "not": _A, "in": _D},
    "department": {"eq": _D, "ne": _A, "not": _A, "ge": _D, "le": _D, "in": _D, "startswith": _D, "null": _A},
    # The property table of the user resource lists startsWith for jobTitle (the shared table omits it).
    "jobTitle": {"eq": _D, "ne": _A, "ge": _D, "le": _D, "in": _D, "startswith": _D, "null": _A},
    "displayName": {"eq": _D, "ne": _A, "not": _A, "in": _D, "startswith": _D, "null": _A},
    "mail": {"eq": _D, "ne": _A, "ge": _D, "le": _D, "in": _D, "startswith": _D},
    "userPrincipalName": {"eq": _D, "ne": _A, "le": _D, "in": _D, "startswith": _D},
    "givenName": {"eq": _D, "ne": _A, "ge": _D, "le": _D, "in": _D, "startswith": _D, "null": _A},
    "surname": {"eq": _D, "ne": _A, "ge": _D, "le": _D, "in": _D, "startswith": _D, "null": _A},
    "officeLocation": {op: _A for op in ("eq", "ne", "ge", "le", "in", "startswith", "null")},
    "mobilePhone": {op: _A for op in ("eq", "ne", "ge", "le", "in", "startswith", "null")},
}
FILTERABLE = set(FILTER_OPERATORS)
SEARCHABLE = {"displayName", "givenName", "surname", "mail", "userPrincipalName"}
ORDERABLE = {"displayName", "userPrincipalName"}

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_/]*)|(?P<bad>\S))"
)
_SEARCH_CLAUSE = re.compile(r'\s*"(?P<prop>[A-Za-z]+):(?P<term>[^"]*)"\s*')
_WORD_SPLIT = re.compile(r"[^0-9A-Za-z\u00C0-\uFFFF]+")


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda user: first(user) and second(user)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda user: first(user) or second(user)


def _unsupported(message: str) -> GraphApiError:
    return GraphApiError(400, "Request_UnsupportedQuery", message)


def _prop(name: str) -> str:
    for known in FILTERABLE:
        if known.lower() == name.lower():
            return known
    raise _unsupported(
        f"Unsupported or invalid query filter clause specified for property '{name}' of resource 'User'."
    )


def _text(user: dict[str, object], prop: str) -> str:
    value = user.get(prop)
    return value.lower() if isinstance(value, str) else ""


# A literal as the filter compares it: lower-case text, a boolean, or None for `null`.
Literal = str | bool | None


def _value(user: dict[str, object], prop: str) -> Literal:
    value = user.get(prop)
    if isinstance(value, bool) or value is None:
        return value
    return str(value).lower()


def _ordered(left: Literal, right: Literal, operator: str) -> bool:
    if not isinstance(left, str) or not isinstance(right, str):
        return False
    return left >= right if operator == "ge" else left <= right


def _unsupported_clause(prop: str) -> GraphApiError:
    return _unsupported(
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'."
    )


class _FilterParser:
    def __init__(self, text: str, advanced: bool) -> None:
        self._advanced = advanced
        self._tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise GraphApiError(
                    400, "BadRequest", f"Invalid filter clause: syntax error at position {position}."
                )
            kind = match.lastgroup or ""
            if kind == "bad":
                raise GraphApiError(
                    400, "BadRequest", f"Invalid filter clause: syntax error at position {position}."
                )
            self._tokens.append((kind, match.group(kind)))
            position = match.end()
        self._index = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._index != len(self._tokens):
            raise GraphApiError(400, "BadRequest", "Invalid filter clause: unexpected trailing tokens.")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _take(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1].lower() != value):
            raise GraphApiError(400, "BadRequest", f"Invalid filter clause: expected {value or kind}.")
        self._index += 1
        return token[1]

    def _or(self) -> Predicate:
        left = self._and()
        while (token := self._peek()) is not None and token[0] == "word" and token[1].lower() == "or":
            self._index += 1
            right = self._and()
            left = _either(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._clause()
        while (token := self._peek()) is not None and token[0] == "word" and token[1].lower() == "and":
            self._index += 1
            right = self._clause()
            left = _both(left, right)
        return left

    def _allow(self, prop: str, operator: str) -> None:
        support = FILTER_OPERATORS[prop].get(operator)
        if support is None or (support == _A and not self._advanced):
            raise _unsupported_clause(prop)

    def _clause(self) -> Predicate:
        token = self._peek()
        if token is None:
            raise GraphApiError(400, "BadRequest", "Invalid filter clause: expression expected.")
        if token == ("punct", "("):
            self._index += 1
            inner = self._or()
            self._take("punct", ")")
            return inner
        word = self._take("word")
        if word.lower() == "not":
            self._take("punct", "(")
            start = self._index
            inner = self._or()
            self._take("punct", ")")
            for kind, text in self._tokens[start : self._index]:
                if kind == "word" and any(text.lower() == p.lower() for p in FILTERABLE):
                    self._allow(_prop(text), "not")
            return lambda u: not inner(u)
        if word.lower() == "startswith":
            self._take("punct", "(")
            prop = _prop(self._take("word"))
            self._allow(prop, "startswith")
            self._take("punct", ",")
            prefix = self._literal()
            self._take("punct", ")")
            if not isinstance(prefix, str):
                raise GraphApiError(400, "BadRequest", "Invalid filter clause: startswith takes a string.")
            return lambda u: _text(u, prop).startswith(prefix)
        prop = _prop(word)
        operator = self._take("word").lower()
        if operator not in {"eq", "ne", "ge", "le", "in"}:
            raise _unsupported(f"Unsupported operator '{operator}' in the filter clause.")
        if operator == "in":
            self._allow(prop, "in")
            values = self._list()
            return lambda u: _value(u, prop) in values
        value = self._literal()
        self._allow(prop, "null" if value is None else operator)
        if operator == "eq":
            return lambda u: _value(u, prop) == value
        if operator == "ne":
            return lambda u: _value(u, prop) != value
        return lambda u: _ordered(_value(u, prop), value, operator)

    def _list(self) -> list[Literal]:
        self._take("punct", "(")
        values = [self._literal()]
        while self._peek() == ("punct", ","):
            self._index += 1
            values.append(self._literal())
        self._take("punct", ")")
        return values

    def _literal(self) -> Literal:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() in {"true", "false", "null"}:
            self._index += 1
            return None if token[1].lower() == "null" else token[1].lower() == "true"
        raw = self._take("str")
        return raw[1:-1].replace("''", "'").lower()


def parse_filter(text: str, advanced: bool = False) -> Predicate:
    """`advanced`: the request carries ConsistencyLevel: eventual and $count=true."""
    return _FilterParser(text, advanced).parse()


def _search_clause(prop: str, term: str) -> Predicate:
    canonical = next((p for p in SEARCHABLE if p.lower() == prop.lower()), None)
    if canonical is None:
        raise _unsupported(
            f"Unsupported query term '{prop}' in $search; tokenized search works on displayName."
        )
    words = [w for w in _WORD_SPLIT.split(term.lower()) if w]

    def matches(user: dict[str, object]) -> bool:
        tokens = [t for t in _WORD_SPLIT.split(_text(user, canonical)) if t]
        return bool(words) and all(any(t.startswith(w) for t in tokens) for w in words)

    return matches


def parse_search(text: str) -> Predicate:
    """`"displayName:ann"` clauses joined by AND / OR; the quotes are required, as in Graph."""
    position = 0
    predicate: Predicate | None = None
    pending_operator = "and"
    while position < len(text):
        match = _SEARCH_CLAUSE.match(text, position)
        if match is None:
            raise GraphApiError(
                400,
                "Request_UnsupportedQuery",
                f"Syntax error: the $search value at position {position} in '{text}' must look like "
                '"property:term" (with double quotes).',
            )
        clause = _search_clause(match.group("prop"), match.group("term"))
        if predicate is None:
            predicate = clause
        elif pending_operator == "or":
            predicate = _either(predicate, clause)
        else:
            predicate = _both(predicate, clause)
        position = match.end()
        operator = re.match(r"\s*(AND|OR)\s*", text[position:])
        if operator is not None:
            pending_operator = operator.group(1).lower()
            position += operator.end()
            if position >= len(text):
                raise GraphApiError(
                    400, "Request_UnsupportedQuery", "Syntax error: $search ends with an operator."
                )
        elif position < len(text):
            raise GraphApiError(
                400, "Request_UnsupportedQuery", f"Syntax error in $search at position {position}."
            )
    if predicate is None:
        raise GraphApiError(400, "Request_UnsupportedQuery", "The $search value is empty.")
    return predicate


@dataclass(frozen=True)
class OrderBy:
    prop: str
    descending: bool


def parse_orderby(text: str) -> OrderBy:
    parts = text.split()
    prop = next((p for p in ORDERABLE if parts and p.lower() == parts[0].lower()), None)
    if prop is None or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in {"asc", "desc"}):
        raise _unsupported(
            f"Sorting by '{text}' is not supported on users without advanced query parameters."
        )
    return OrderBy(prop, len(parts) == 2 and parts[1].lower() == "desc")


def parse_select(text: str, known: set[str]) -> list[str]:
    selected: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        canonical = next((k for k in known if k.lower() == name.lower()), None)
        if canonical is None:
            raise GraphApiError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{name}' on type 'Microsoft.DirectoryServices.User'.",
            )
        if canonical not in selected:
            selected.append(canonical)
    return selected
