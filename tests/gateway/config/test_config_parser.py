"""The kannel.conf syntax, case by case, as Kannel 1.4.5's gwlib/cfg.c reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.errors import ConfigError
from gateway.config.parser import parse_file, parse_text, quote, unquote


def groups(text: str) -> list[tuple[str | None, dict[str, str]]]:
    raw = parse_text(text, "k.conf")
    return [(g.name, {k: e.value for k, e in g.entries.items()}) for g in raw.groups]


def test_groups_are_separated_by_empty_lines() -> None:
    assert groups("group = core\nadmin-port = 1\n\n\ngroup = smsbox\nsendsms-port = 2\n") == [
        ("core", {"group": "core", "admin-port": "1"}),
        ("smsbox", {"group": "smsbox", "sendsms-port": "2"}),
    ]


def test_whitespace_and_crlf_are_stripped() -> None:
    assert groups("  group   =   core  \r\n\tadmin-port=13000\r\n  \r\n") == [
        ("core", {"group": "core", "admin-port": "13000"})
    ]


def test_group_key_may_be_anywhere_in_the_block() -> None:
    [(name, entries)] = groups("admin-port = 1\ngroup = core\n")
    assert name == "core" and entries["admin-port"] == "1"


def test_whole_line_comments_do_not_end_a_group() -> None:
    assert groups("group = core\n# a comment\n   # indented\nadmin-port = 1\n") == [
        ("core", {"group": "core", "admin-port": "1"})
    ]


def test_hash_after_a_value_is_part_of_the_value() -> None:
    # Kannel has no trailing comments.
    [(_, entries)] = groups('group = x\ntext = No #1 # really\nquoted = "a # b"\n')
    assert entries["text"] == "No #1 # really"
    assert entries["quoted"] == "a # b"


def test_quoted_values_and_escapes() -> None:
    [(_, entries)] = groups(
        "group = x\n"
        'a = "with spaces "\n'
        'b = "say \\"hi\\""\n'
        'c = "back\\\\slash"\n'
        'd = "keeps \\n as is"\n'
        'e = "only opening\n'
        "f = bare \"quotes\" inside\n"
        'g = ""\n'
        "h =\n"
    )
    assert entries["a"] == "with spaces "
    assert entries["b"] == 'say "hi"'
    assert entries["c"] == "back\\slash"
    assert entries["d"] == "keeps \\n as is"
    assert entries["e"] == '"only opening'
    assert entries["f"] == 'bare "quotes" inside'
    assert entries["g"] == ""
    assert entries["h"] == ""


def test_first_equals_splits_key_and_value() -> None:
    [(_, entries)] = groups("group = x\nget-url = http://h/p?a=1&b=2\n")
    assert entries["get-url"] == "http://h/p?a=1&b=2"


@pytest.mark.parametrize("value", ["plain", 'with "quotes"', "back\\slash", "", " edge \\"])
def test_quote_round_trips(value: str) -> None:
    assert unquote(quote(value)) == value


def test_backslash_continues_a_line() -> None:
    raw = parse_text("group = x\nget-url = http://host/\\\npath\nnext = 1\n", "k.conf")
    entries = raw.groups[0].entries
    assert entries["get-url"].value == "http://host/path"
    assert entries["get-url"].location.line == 2
    assert entries["next"].location.line == 4


def test_double_backslash_at_end_is_a_literal_backslash() -> None:
    [(_, entries)] = groups("group = x\na = dir\\\\\nb = 2\n")
    assert entries["a"] == "dir\\"
    assert entries["b"] == "2"


def test_every_value_keeps_its_file_and_line() -> None:
    raw = parse_text("\n# c\ngroup = core\nadmin-port = 1\n", "kannel.conf")
    entry = raw.groups[0].entries["admin-port"]
    assert (entry.location.file, entry.location.line) == ("kannel.conf", 4)
    assert str(raw.groups[0].location) == "kannel.conf:3"


def test_missing_equals_is_an_error_with_its_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_text("group = core\nadmin-port 13000\n", "kannel.conf")
    assert str(info.value).startswith("kannel.conf:2: an equals sign ('=') is missing")
    assert info.value.line == 2


def test_a_key_set_twice_keeps_the_last_value_and_warns() -> None:
    raw = parse_text("group = x\na = 1\na = 2\n", "k.conf")
    assert raw.groups[0].entries["a"].value == "2"
    assert raw.warnings == ["k.conf:3: key 'a': set again (first at k.conf:2); the last value "
                            "wins, as in Kannel"]


def test_include_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "users.conf").write_text("group = sendsms-user\nusername = a\n")
    (tmp_path / "sub" / "more.conf").write_text('include = "users.conf"\n')
    main = tmp_path / "kannel.conf"
    main.write_text("group = core\nadmin-port = 1\n\ninclude = sub/more.conf\n")
    raw = parse_file(main)
    assert [g.name for g in raw.groups] == ["core", "sendsms-user"]
    entry = raw.groups[1].entries["username"]
    assert entry.location.file == str(tmp_path / "sub" / "users.conf")
    assert entry.location.line == 2
    assert raw.files == [str(main), str(tmp_path / "sub" / "more.conf"),
                         str(tmp_path / "sub" / "users.conf")]


def test_include_falls_back_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "extra.conf").write_text("group = smsbox\nsendsms-port = 1\n")
    main = tmp_path / "conf" / "kannel.conf"
    main.write_text("include = extra.conf\n")
    monkeypatch.chdir(tmp_path)
    raw = parse_file(main)
    assert [g.name for g in raw.groups] == ["smsbox"]
    assert "from the working directory, as Kannel would" in raw.warnings[0]


def test_include_a_directory_takes_every_file_in_name_order(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "20-b.conf").write_text("group = sendsms-user\nusername = b\n")
    (conf_d / "10-a.conf").write_text("group = sendsms-user\nusername = a\n")
    (conf_d / "nested").mkdir()
    (conf_d / "nested" / "ignored.conf").write_text("group = sendsms-user\nusername = c\n")
    main = tmp_path / "kannel.conf"
    main.write_text("include = conf.d\n")
    raw = parse_file(main)
    assert [g.entries["username"].value for g in raw.groups] == ["a", "b"]


def test_the_end_of_an_included_file_ends_the_group(tmp_path: Path) -> None:
    # Kannel appends an empty line to each included file.
    (tmp_path / "part.conf").write_text("group = core\nadmin-port = 1")
    main = tmp_path / "kannel.conf"
    main.write_text("include = part.conf\nadmin-password = x\ngroup = smsbox\n")
    raw = parse_file(main)
    assert [sorted(g.entries) for g in raw.groups] == [
        ["admin-port", "group"],
        ["admin-password", "group"],
    ]


def test_an_include_inside_a_group_continues_it(tmp_path: Path) -> None:
    (tmp_path / "secret.conf").write_text("admin-password = x\n")
    main = tmp_path / "kannel.conf"
    main.write_text("group = core\nadmin-port = 1\ninclude = secret.conf\n")
    raw = parse_file(main)
    assert sorted(raw.groups[0].entries) == ["admin-password", "admin-port", "group"]


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("include = b.conf\n")
    (tmp_path / "b.conf").write_text("group = x\ny = 1\n\ninclude = a.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "a.conf")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'b.conf'}:4: key 'include': ")
    assert "included a second time (it is the main file)" in message


def test_including_the_same_file_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "users.conf").write_text("group = sendsms-user\nusername = a\n")
    main = tmp_path / "kannel.conf"
    main.write_text("include = users.conf\ninclude = ./users.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(main)
    assert info.value.line == 2
    assert f"first included at {main}:1" in str(info.value)


def test_missing_include_is_an_error(tmp_path: Path) -> None:
    main = tmp_path / "kannel.conf"
    main.write_text("group = core\n\ninclude = nowhere.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(main)
    assert str(info.value).startswith(f"{main}:3: key 'include': cannot include 'nowhere.conf'")


def test_only_the_include_key_includes() -> None:
    # Kannel treats any line containing "include" as an include; we only the key itself.
    [(_, entries)] = groups("group = sms-service\nget-url = http://x/include.php\n")
    assert entries["get-url"] == "http://x/include.php"


def test_missing_main_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "none.conf")
    assert "cannot read the configuration" in str(info.value)


def test_latin1_files_are_read(tmp_path: Path) -> None:
    # Kannel reads bytes; an old file in Latin-1 must still load.
    path = tmp_path / "kannel.conf"
    path.write_bytes("group = sms-service\ntext = caf\xe9\n".encode("latin-1"))
    assert parse_file(path).groups[0].entries["text"].value == "café"
