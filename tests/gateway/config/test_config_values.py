"""Typed values as Kannel's cfg_get_integer / cfg_get_bool read them, and POSIX regexes."""

from __future__ import annotations

import pytest

from gateway.config.values import (
    ValueProblem,
    compile_regex,
    parse_bool,
    parse_int,
    parse_list,
    parse_size,
    posix_to_python,
)


class Warnings(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("13000", 13000), ("-1", -1), ("+5", 5), ("0x1F", 31), ("0X10", 16)],
)
def test_integers(text: str, value: int) -> None:
    warnings = Warnings()
    assert parse_int(text, warnings) == value
    assert warnings == []


def test_leading_zero_is_octal_as_strtol_base_0_with_a_warning() -> None:
    warnings = Warnings()
    assert parse_int("010", warnings) == 8
    assert "octal" in warnings[0]
    assert parse_int("07", Warnings()) == 7


@pytest.mark.parametrize("text", ["ten", "", "10abc", "1.5", "09", "0x", "- 1"])
def test_bad_integers(text: str) -> None:
    with pytest.raises(ValueProblem, match="expected an integer"):
        parse_int(text, Warnings())


@pytest.mark.parametrize("text", ["true", "TRUE", "yes", "On", "1"])
def test_true_words(text: str) -> None:
    warnings = Warnings()
    assert parse_bool(text, warnings) is True
    assert warnings == []


@pytest.mark.parametrize("text", ["false", "False", "no", "OFF", "0"])
def test_false_words(text: str) -> None:
    assert parse_bool(text, Warnings()) is False


@pytest.mark.parametrize("text", ["maybe", "", "2"])
def test_strange_booleans_are_true_with_a_warning_as_in_kannel(text: str) -> None:
    warnings = Warnings()
    assert parse_bool(text, warnings) is True
    assert "assumes true" in warnings[0]


def test_lists_split_on_semicolons() -> None:
    assert parse_list("a;b; c ;;") == ("a", "b", "c")
    assert parse_list("") == ()


@pytest.mark.parametrize(
    ("text", "value"), [("65536", 65536), ("64K", 65536), ("1M", 1048576), ("2 GB", 2 << 30)]
)
def test_sizes(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_bad_size() -> None:
    with pytest.raises(ValueProblem):
        parse_size("lots")


@pytest.mark.parametrize(
    ("posix", "matches", "misses"),
    [
        ("^[[:digit:]]+$", ["123"], ["12a", ""]),
        ("^\\+?[[:digit:]]{6,}", ["+4670000001"], ["+46"]),
        ("[[:alpha:]_]", ["x", "_"], ["1"]),
        ("^(00|\\+)46", ["0046", "+46"], ["46"]),
        ("[\\]", ["\\"], ["a"]),
        ("[]a]", ["]", "a"], ["b"]),
        ("\\<word\\>", ["a word here"], ["swordfish"]),
        ("[a-c]+", ["b"], ["x"]),
    ],
)
def test_posix_expressions(posix: str, matches: list[str], misses: list[str]) -> None:
    pattern = compile_regex(posix, Warnings())
    for text in matches:
        assert pattern.search(text), (posix, text)
    for text in misses:
        assert not pattern.search(text), (posix, text)


def test_escaped_letter_is_the_letter_as_in_glibc() -> None:
    warnings = Warnings()
    pattern = compile_regex("^\\d$", warnings)
    assert pattern.search("d") and not pattern.search("5")
    assert "is the letter 'd'" in warnings[0]


def test_unknown_class_and_bad_patterns() -> None:
    with pytest.raises(ValueProblem, match="unknown character class"):
        posix_to_python("[[:digits:]]", Warnings())
    with pytest.raises(ValueProblem, match="unterminated"):
        posix_to_python("[abc", Warnings())
    with pytest.raises(ValueProblem, match="invalid regular expression"):
        compile_regex("(unclosed", Warnings())


def test_ignore_case() -> None:
    assert compile_regex("^help", Warnings(), ignore_case=True).search("HELP me")
