"""Every Bicep file parses, and the module wiring holds together, without a Bicep compiler.

tree-sitter-bicep parses each file; the wiring checks do what `bicep build` would catch first:
module paths that exist, params the module declares, required params passed, outputs that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.bicep_reader import BicepFile, BicepReadError, parse, parse_file, template_closure

INFRA = Path(__file__).resolve().parents[2] / "infra"
MAIN_BICEP = INFRA / "main.bicep"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))


def test_infra_has_bicep_files() -> None:
    # GIVEN the infra folder / THEN it holds main.bicep and modules (an empty glob would pass vacuously)
    assert MAIN_BICEP in BICEP_FILES
    assert len(BICEP_FILES) > 1


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: str(path.relative_to(INFRA)))
def test_file_parses_without_errors(path: Path) -> None:
    # GIVEN one Bicep file / WHEN parsed / THEN no syntax error and at least one declaration
    bicep = parse_file(path)
    assert bicep.parameters or bicep.resources or bicep.modules


def test_every_bicep_file_is_used_by_main() -> None:
    # GIVEN main.bicep and the modules it uses transitively
    used = {Path(bicep.origin) for bicep in template_closure(MAIN_BICEP)}
    # THEN no file in infra/ is left out (an unused module would dodge every other check)
    assert set(BICEP_FILES) == used


def _modules_by_symbol(bicep: BicepFile) -> dict[str, BicepFile]:
    base = Path(bicep.origin).parent
    return {module.symbol: parse_file((base / module.path).resolve()) for module in bicep.modules}


@pytest.mark.parametrize("bicep", template_closure(MAIN_BICEP), ids=lambda bicep: Path(bicep.origin).name)
def test_module_calls_match_module_parameters(bicep: BicepFile) -> None:
    # GIVEN each module call in a template
    targets = _modules_by_symbol(bicep)
    for module in bicep.modules:
        declared = {param.name: param for param in targets[module.symbol].parameters}
        passed = set(module.params)
        # THEN it passes only declared params and every param without a default
        assert passed - set(declared) == set(), f"{module.symbol}: unknown params"
        required = {name for name, param in declared.items() if not param.has_default}
        assert required - passed == set(), f"{module.symbol}: required params not passed"


@pytest.mark.parametrize("bicep", template_closure(MAIN_BICEP), ids=lambda bicep: Path(bicep.origin).name)
def test_module_outputs_used_exist(bicep: BicepFile) -> None:
    # GIVEN every `<module>.outputs.<name>` reference in a template
    targets = _modules_by_symbol(bicep)
    text = Path(bicep.origin).read_text()
    references = set(re.findall(r"\b(\w+)\.outputs\.(\w+)", text))
    for symbol, output in references:
        # THEN the module exists and declares that output
        assert symbol in targets, f"{symbol} is not a module"
        assert output in {declared.name for declared in targets[symbol].outputs}, f"{symbol}.outputs.{output}"


def test_broken_file_is_reported_with_its_position() -> None:
    # GIVEN a resource with a property missing its value and an unclosed object
    broken = "param name string\nresource r 'Microsoft.Foo/bars@2024-01-01' = {\n  name:\n  properties: {\n"
    # WHEN parsed / THEN the error names the file and a line
    with pytest.raises(BicepReadError, match=r"broken\.bicep:\d+:\d+"):
        parse(broken.encode(), "broken.bicep")


def test_misspelled_keyword_is_reported() -> None:
    # GIVEN `resouce` instead of `resource`
    with pytest.raises(BicepReadError):
        parse(b"resouce r 'Microsoft.Foo/bars@2024-01-01' = {\n  name: 'x'\n}\n", "typo.bicep")
