"""`passerelle check-config`: exit status, masked passwords, defaults marked, warnings on
stderr, and output that loads back into the same configuration."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config, load_config_text, render_config

DATA = Path(__file__).parent / "data"

CONF = """group = core
admin-port = 13000
admin-password = s3cret-admin
status-password = s3cret-status
white-list-sender-regex = "^[[:digit:]]+$"
store-type = file

group = smsc
smsc = smpp
host = 127.0.0.1
smsc-username = kannel
smsc-password = s3cret-smpp
system-type = VMA

group = smsbox
sendsms-port = 13013

group = sendsms-user
username = tester
password = s3cret-user
max-messages = 5

group = passerelle-user
username = tester
default-lane = 2

group = smpp-tlv
name = my_tlv
tag = 0x1400
type = octetstring
length = 20
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_config_prints_the_effective_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text(CONF)
    code, out, err = run(["check-config", str(path)], capsys)
    assert code == 0
    assert "s3cret" not in out
    assert 'admin-password = "****"' in out
    assert 'status-password = "****"' in out
    assert 'smsc-password = "****"' in out
    assert 'password = "****"' in out
    assert "max-messages = 5" in out
    assert '#(default) sendsms-url = "/cgi-bin/sendsms"' in out
    assert '#(default) concatenation = false' in out
    assert "#(unset) faked-sender" in out
    assert 'white-list-sender-regex = "^[[:digit:]]+$"' in out
    assert "group = passerelle-user\nusername = \"tester\"\ndefault-lane = 2" in out
    assert "tag = 0x1400" in out
    assert "warning: " in err and "key 'store-type'" in err
    assert f"{path}:6:" in err


def test_invalid_config_exits_1_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text("group = core\nadmin-port = ten\n\ngroup = sendsms-user\nusername = a\n")
    code, out, err = run(["check-config", str(path)], capsys)
    assert code == 1
    assert out == ""
    assert f"{path}:1: key 'admin-password': missing" in err
    assert f"{path}:2: key 'admin-port': expected an integer, got 'ten'" in err
    assert f"{path}:4: key 'password': missing" in err
    assert "configuration is invalid (3 problems)" in err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check-config", str(tmp_path / "nope.conf")], capsys)
    assert code == 1 and "cannot read the configuration" in err


def test_without_a_file_it_checks_the_embedded_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["check-config"], capsys)
    assert code == 0 and err == ""
    assert "smsc-id = \"sim\"" in out and "simulator-port = 2775" in out
    assert "foobar" not in out


@pytest.mark.parametrize(
    "path", [DATA / "kannel_example.conf", DATA / "debian_wap.conf", None]
)
def test_output_loads_back_into_the_same_configuration(path: Path | None) -> None:
    from gateway.config import default_config_path

    config = load_config(path if path is not None else default_config_path())
    again = load_config_text(render_config(config), "rendered.conf")

    def unmasked(group: object) -> object:
        secrets = {f.name: getattr(group, f.name) for f in fields(group)  # type: ignore[arg-type]
                   if f.metadata.get("secret") and getattr(group, f.name) is not None}
        return replace(group, **{name: "****" for name in secrets})  # type: ignore[type-var]

    assert again.core == unmasked(config.core)
    assert again.smscs == tuple(unmasked(s) for s in config.smscs)
    assert again.smsbox == config.smsbox
    assert again.users == tuple(unmasked(u) for u in config.users)
    assert again.services == config.services
    assert again.passerelle == config.passerelle
    assert again.smpp_tlvs == config.smpp_tlvs


def test_smpp_tlv_round_trips() -> None:
    config = load_config_text(CONF, "kannel.conf")
    again = load_config_text(render_config(config), "rendered.conf")
    assert again.smpp_tlvs == config.smpp_tlvs and again.smpp_tlvs[0].tag == 0x1400
