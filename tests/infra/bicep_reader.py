"""Reads Bicep files with tree-sitter-bicep, since no Bicep compiler runs on our machines.

It reports syntax errors with their positions, lists declarations (params, resources, modules,
outputs), turns literal values into Python values, and extracts the app settings a template sets.
Anything it cannot read statically raises instead of being skipped, so the infra tests fail loudly
rather than pass on a template they did not understand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

_LANGUAGE = Language(tree_sitter_bicep.language())
_COMMENT_TYPES = frozenset({"comment", "diagnostic_comment"})
_PUNCTUATION = frozenset({"{", "}", "[", "]", ",", ":"})


class BicepReadError(ValueError):
    """The text is not valid Bicep, or holds something these readers cannot evaluate statically."""


@dataclass(frozen=True)
class Expression:
    """A value that is not a literal (a reference, a call, an interpolated string): its source text."""

    text: str


BicepValue: TypeAlias = str | int | bool | Expression | list["BicepValue"] | dict[str, "BicepValue"] | None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    has_default: bool
    default: BicepValue = None


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    api_version: str
    body: dict[str, BicepValue]
    line: int
    conditional: bool = False
    looped: bool = False
    existing: bool = False


@dataclass(frozen=True)
class Module:
    symbol: str
    path: str
    params: dict[str, BicepValue]
    line: int


@dataclass(frozen=True)
class Output:
    name: str
    type: str
    value: BicepValue


@dataclass(frozen=True)
class AppSetting:
    name: str
    value: BicepValue
    origin: str


@dataclass
class BicepFile:
    origin: str
    root: Node
    parameters: list[Parameter] = field(default_factory=list)
    variables: dict[str, BicepValue] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)


def parse(source: bytes, origin: str) -> BicepFile:
    """Parse one file; raise BicepReadError naming every syntax error with its line and column."""
    tree = Parser(_LANGUAGE).parse(source)
    errors = [
        f"{origin}:{node.start_point.row + 1}:{node.start_point.column + 1}: "
        + ("missing " + node.type if node.is_missing else "unexpected " + _snippet(node))
        for node in _walk(tree.root_node)
        if node.type == "ERROR" or node.is_missing
    ]
    if errors or tree.root_node.has_error:
        raise BicepReadError("Bicep syntax error(s):\n" + "\n".join(errors or [f"{origin}: unparsable"]))
    bicep = BicepFile(origin=origin, root=tree.root_node)
    for node in _named_children(tree.root_node):
        if node.type == "parameter_declaration":
            bicep.parameters.append(_parameter(node))
        elif node.type == "variable_declaration":
            children = _named_children(node)
            bicep.variables[_text(children[0])] = literal(children[-1])
        elif node.type == "resource_declaration":
            bicep.resources.append(_resource(node, origin))
        elif node.type == "module_declaration":
            bicep.modules.append(_module(node, origin))
        elif node.type == "output_declaration":
            bicep.outputs.append(_output(node))
    return bicep


def parse_file(path: Path, origin: str | None = None) -> BicepFile:
    return parse(path.read_bytes(), origin or str(path))


def template_closure(main: Path) -> list[BicepFile]:
    """main.bicep and every module it uses, transitively (module paths are relative to their file)."""
    seen: dict[Path, BicepFile] = {}
    pending = [main.resolve()]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        if not path.is_file():
            raise BicepReadError(f"module file not found: {path}")
        bicep = parse_file(path)
        seen[path] = bicep
        pending.extend((path.parent / module.path).resolve() for module in bicep.modules)
    return list(seen.values())


def literal(node: Node) -> BicepValue:
    """Python value of a literal node; non-literal expressions become Expression(source text)."""
    kind = node.type
    if kind == "string":
        content = _plain_string(node)
        return Expression(_text(node)) if content is None else content
    if kind == "number":
        return int(_text(node))
    if kind == "boolean":
        return _text(node) == "true"
    if kind == "null":
        return None
    if kind == "array":
        return [literal(child) for child in _values(node)]
    if kind == "object":
        return {_key(prop): literal(_property_value(prop)) for prop in _properties(node)}
    return Expression(_text(node))


def app_settings(bicep: BicepFile) -> list[AppSetting]:
    """Every app setting the file sets.

    Two forms are recognised: `Microsoft.Web/sites/config` resources named `appsettings` (their
    `properties` object holds the settings) and `appSettings: [{name: ..., value: ...}]` arrays (the
    `siteConfig` form). A setting whose name is not a literal, or settings built by an expression
    (a variable, `union()`), raise BicepReadError: the checks that use this must see every name.
    """
    found: list[AppSetting] = []
    for node in _walk(bicep.root):
        if node.type == "resource_declaration" and _is_appsettings_resource(node):
            found.extend(_settings_from_config_resource(node, bicep.origin))
        elif node.type == "object_property" and _key(node) == "appSettings":
            found.extend(_settings_from_array(_property_value(node), bicep.origin))
    return found


def _is_appsettings_resource(node: Node) -> bool:
    type_node = _child_of_type(node, "string")
    resource_type = _plain_string(type_node) if type_node is not None else None
    if resource_type is None or not resource_type.lower().startswith(
        ("microsoft.web/sites/config@", "microsoft.web/sites/slots/config@")
    ):
        return False
    body = _resource_body(node)
    name_node = _find_property(body, "name")
    if name_node is None:
        raise BicepReadError(f"{_where(node)}: sites/config resource without a name")
    name = _plain_string(name_node) if name_node.type == "string" else None
    if name is None:
        raise BicepReadError(f"{_where(node)}: sites/config name is not a literal: {_text(name_node)}")
    return name.lower().rsplit("/", 1)[-1] == "appsettings"


def _settings_from_config_resource(node: Node, origin: str) -> list[AppSetting]:
    properties = _find_property(_resource_body(node), "properties")
    if properties is None or properties.type != "object":
        raise BicepReadError(f"{_where(node)}: appsettings properties must be an object literal")
    settings = []
    for prop in _properties(properties):
        key_node = prop.child(0)
        if key_node is None or (key_node.type == "string" and _plain_string(key_node) is None):
            raise BicepReadError(f"{_where(prop)}: app setting name is not a literal: {_text(prop)}")
        settings.append(
            AppSetting(
                name=_key(prop), value=literal(_property_value(prop)), origin=f"{origin}:{_line(prop)}"
            )
        )
    return settings


def _settings_from_array(node: Node, origin: str) -> list[AppSetting]:
    if node.type != "array":
        raise BicepReadError(f"{_where(node)}: appSettings must be an array literal, got {_snippet(node)}")
    settings = []
    for element in _values(node):
        entry = literal(element)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BicepReadError(
                f"{_where(element)}: appSettings entry without a literal name: {_snippet(element)}"
            )
        name = entry["name"]
        assert isinstance(name, str)
        settings.append(AppSetting(name=name, value=entry.get("value"), origin=f"{origin}:{_line(element)}"))
    return settings


def _parameter(node: Node) -> Parameter:
    children = _named_children(node)
    name = _text(children[0])
    type_text = _text(children[1]) if len(children) > 1 else ""
    has_default = any(child.type == "=" for child in node.children)
    default = literal(children[-1]) if has_default else None
    return Parameter(name=name, type=type_text, has_default=has_default, default=default)


def _resource(node: Node, origin: str) -> Resource:
    symbol_node = _child_of_type(node, "identifier")
    type_node = _child_of_type(node, "string")
    type_text = _plain_string(type_node) if type_node is not None else None
    if symbol_node is None or type_text is None or "@" not in type_text:
        raise BicepReadError(f"{origin}:{_line(node)}: resource without a literal 'Type@apiVersion'")
    resource_type, api_version = type_text.split("@", 1)
    body_holder = _resource_body_holder(node)
    body = literal(_resource_body(node))
    if not isinstance(body, dict):
        raise BicepReadError(f"{origin}:{_line(node)}: resource body is not an object")
    return Resource(
        symbol=_text(symbol_node),
        type=resource_type,
        api_version=api_version,
        body=body,
        line=_line(node),
        conditional=body_holder.type == "if_statement",
        looped=body_holder.type == "for_statement",
        existing=any(child.type == "existing" for child in node.children),
    )


def _module(node: Node, origin: str) -> Module:
    symbol_node = _child_of_type(node, "identifier")
    path_node = _child_of_type(node, "string")
    path = _plain_string(path_node) if path_node is not None else None
    if symbol_node is None or path is None:
        raise BicepReadError(f"{origin}:{_line(node)}: module without a literal path")
    params_node = _find_property(_resource_body(node), "params")
    params = literal(params_node) if params_node is not None else {}
    if not isinstance(params, dict):
        raise BicepReadError(f"{origin}:{_line(node)}: module params must be an object literal")
    return Module(symbol=_text(symbol_node), path=path, params=params, line=_line(node))


def _output(node: Node) -> Output:
    children = _named_children(node)
    return Output(name=_text(children[0]), type=_text(children[1]), value=literal(children[-1]))


def _resource_body_holder(node: Node) -> Node:
    for child in _named_children(node):
        if child.type in {"object", "if_statement", "for_statement"}:
            return child
    raise BicepReadError(f"{_where(node)}: declaration without a body")


def _resource_body(node: Node) -> Node:
    holder = _resource_body_holder(node)
    if holder.type == "object":
        return holder
    if holder.type == "for_statement":
        body = holder.child_by_field_name("body")
        if body is not None and body.type == "object":
            return body
    objects = [child for child in _named_children(holder) if child.type == "object"]
    if not objects:
        raise BicepReadError(f"{_where(node)}: cannot find the object body of {_snippet(holder)}")
    return objects[-1]


def _find_property(obj: Node, key: str) -> Node | None:
    for prop in _properties(obj):
        if _key(prop) == key:
            return _property_value(prop)
    return None


def _properties(obj: Node) -> list[Node]:
    return [child for child in _named_children(obj) if child.type == "object_property"]


def _values(array: Node) -> list[Node]:
    return [child for child in _named_children(array) if child.type not in _PUNCTUATION]


def _key(prop: Node) -> str:
    key_node = prop.child(0)
    if key_node is None:
        raise BicepReadError(f"{_where(prop)}: property without a key")
    if key_node.type == "string":
        content = _plain_string(key_node)
        return _text(key_node) if content is None else content
    return _text(key_node)


def _property_value(prop: Node) -> Node:
    values = [child for child in _named_children(prop)[1:]]
    if not values:
        raise BicepReadError(f"{_where(prop)}: property without a value")
    return values[-1]


def _plain_string(node: Node) -> str | None:
    """Content of a string without interpolation (escapes resolved), else None."""
    parts: list[str] = []
    for child in node.children:
        if child.type == "string_content":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            parts.append(_unescape(_text(child)))
        elif child.type == "interpolation":
            return None
    return "".join(parts)


def _unescape(sequence: str) -> str:
    simple = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}
    if sequence in simple:
        return simple[sequence]
    if sequence.startswith("\\u{") and sequence.endswith("}"):
        return chr(int(sequence[3:-1], 16))
    raise BicepReadError(f"unknown escape sequence {sequence!r}")


def _named_children(node: Node) -> list[Node]:
    return [child for child in node.named_children if child.type not in _COMMENT_TYPES]


def _child_of_type(node: Node, kind: str) -> Node | None:
    return next((child for child in node.children if child.type == kind), None)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: Node) -> str:
    return (node.text or b"").decode()


def _snippet(node: Node) -> str:
    text = " ".join(_text(node).split())
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _line(node: Node) -> int:
    return node.start_point.row + 1


def _where(node: Node) -> str:
    return f"line {_line(node)}"
