"""The directory route's query string: bounds, control characters, unknown parameters."""

from __future__ import annotations

import pytest

from shared.directory.commands import parse_directory_request
from shared.directory.exceptions import InvalidDirectoryQuery
from shared.directory.model import DirectoryQuery


def test_defaults_and_trimming() -> None:
    request = parse_directory_request({})
    assert request.query == DirectoryQuery(top=25)
    assert request.skip_token is None
    parsed = parse_directory_request(
        {"search": "  Ann   Lee ", "department": " Sales", "jobTitle": "", "available": "TRUE", "top": "50"}
    )
    assert parsed.query == DirectoryQuery(search="Ann Lee", department="Sales", available=True, top=50)
    # The Functions key parameter some clients send is ignored
    assert parse_directory_request({"code": "abc", "top": "1"}).query.top == 1


def test_sixty_four_characters_are_the_limit() -> None:
    assert parse_directory_request({"search": "a" * 64}).query.search == "a" * 64
    for name in ("search", "department", "jobTitle"):
        with pytest.raises(InvalidDirectoryQuery, match="64 characters"):
            parse_directory_request({name: "a" * 65})


@pytest.mark.parametrize("value", ["ann\x00", "ann\nlee", "\x1b[31m", "a\x7fb", "a\u2028b", "tab\there"])
def test_control_characters_are_refused(value: str) -> None:
    with pytest.raises(InvalidDirectoryQuery, match="control characters"):
        parse_directory_request({"search": value})


@pytest.mark.parametrize("top", ["0", "51", "-1", "1.5", "ten", "²", "1e2", "99999999999999999999"])
def test_top_is_one_to_fifty(top: str) -> None:
    with pytest.raises(InvalidDirectoryQuery, match="top"):
        parse_directory_request({"top": top})


@pytest.mark.parametrize("available", ["yes", "1", "on", "truee"])
def test_available_is_true_or_false(available: str) -> None:
    with pytest.raises(InvalidDirectoryQuery, match="available"):
        parse_directory_request({"available": available})


def test_unknown_parameters_and_foreign_skip_tokens_are_refused() -> None:
    with pytest.raises(InvalidDirectoryQuery, match="unknown query parameter 'name'"):
        parse_directory_request({"name": "ann"})
    with pytest.raises(InvalidDirectoryQuery, match="unknown query parameter"):
        parse_directory_request({"$filter": "true"})
    with pytest.raises(InvalidDirectoryQuery, match="skipToken"):
        parse_directory_request({"skipToken": "x" * 5000})
    with pytest.raises(InvalidDirectoryQuery, match="skipToken"):
        parse_directory_request({"skipToken": "tökén"})
