"""The skeleton's promises: the twistd plugin is found, the command answers, the layers hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.python import usage

from gateway import cli, tap

ROOT = Path(__file__).resolve().parent.parent
LOWER_LAYERS = ("native", "protocols", "storage")


def test_twistd_finds_the_passerelle_service_maker() -> None:
    """Twisted's plugin system finds our dropin, and it names gateway.tap."""
    makers = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
    assert "passerelle" in makers
    assert makers["passerelle"].module == "gateway.tap"
    assert makers["passerelle"].options is tap.Options


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    """`passerelle --help` exits 0 and names every subcommand."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("smsc-sim", "run", "check-config"):
        assert command in out


def test_make_service_refuses_a_config_it_cannot_read() -> None:
    """`twistd passerelle` stops with the configuration's own message, before listening."""
    options = tap.Options()
    options.parseOptions(["--config", "/nonexistent/kannel.conf"])
    assert options["config"] == "/nonexistent/kannel.conf"
    with pytest.raises(usage.UsageError, match="/nonexistent/kannel.conf"):
        tap.makeService(options)


def _imported_top_levels(path: Path) -> set[str]:
    """The top-level names of the absolute imports in the module at C{path}."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_lower_layers_never_import_gateway() -> None:
    """native/, protocols/ and storage/ never import gateway/ (the arrows only point down)."""
    offenders = [
        str(path.relative_to(ROOT))
        for package in LOWER_LAYERS
        for path in sorted((ROOT / package).rglob("*.py"))
        if "gateway" in _imported_top_levels(path)
    ]
    assert offenders == []


def test_layer_scan_sees_imports(tmp_path: Path) -> None:
    """The scan above really detects an import of gateway, in both spellings."""
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom gateway.tap import Options\n", encoding="utf-8")
    assert "gateway" in _imported_top_levels(module)
    module.write_text("import gateway.cli as c\n", encoding="utf-8")
    assert "gateway" in _imported_top_levels(module)


def test_twisted_plugins_is_a_namespace_portion() -> None:
    """No __init__.py in twisted/ or twisted/plugins/: it would shadow Twisted itself."""
    assert (ROOT / "twisted" / "plugins" / "passerelle.py").is_file()
    assert not (ROOT / "twisted" / "__init__.py").exists()
    assert not (ROOT / "twisted" / "plugins" / "__init__.py").exists()
