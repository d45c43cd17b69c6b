"""The Function package: what it holds, that it stands alone, that it builds the same twice."""

import ast
import importlib.metadata
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from flowcdr.deploy.package import SHELL_FILES, function_package

from .hcl import TEMPLATES


def files() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(function_package())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_shell_at_the_root_and_only_the_collector_beside_it() -> None:
    names = set(files())
    assert set(SHELL_FILES) <= names
    assert {"flowcdr/__init__.py", "flowcdr/errors.py", "flowcdr/collect/function.py"} <= names
    assert {"flowcdr/collect/collector.py", "flowcdr/collect/table_checkpoints.py"} <= names
    others = names - set(SHELL_FILES)
    assert all(
        n.startswith(("flowcdr/collect/", "flowcdr/errors.py", "flowcdr/__init__")) for n in others
    )
    assert not any("/functionapp/" in n or n.startswith("flowcdr/api/") for n in names)


def test_the_function_names_match_the_event_grid_webhooks() -> None:
    source = files()["function_app.py"].decode()
    defined = set(re.findall(r"^def (\w+)\(", source, re.M))
    webhooks = set(re.findall(r'function = "(\w+)"', (TEMPLATES / "collector.tf").read_text()))
    assert webhooks == {"collect_vnet_blob", "collect_nsg_blob"}
    assert webhooks <= defined


def test_same_code_same_bytes() -> None:
    assert function_package() == function_package()


def test_the_unpacked_package_imports_without_this_checkout(tmp_path: Path) -> None:
    """Only the zip's own flowcdr is importable there (the checkout's src is not on the path)."""
    with zipfile.ZipFile(io.BytesIO(function_package())) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import json, sys; sys.path = [p for p in sys.path if not p.endswith('/src')];"
        "import function_app, flowcdr, flowcdr.collect.function as f;"
        "print(json.dumps([flowcdr.__file__, sorted(fn.get_function_name() "
        "for fn in function_app.app.get_functions()),"
        "sorted(m for m in sys.modules if m.startswith('flowcdr'))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    origin, functions, modules = json.loads(done.stdout)
    assert Path(origin).resolve().is_relative_to(tmp_path.resolve())
    assert functions == ["collect_nsg_blob", "collect_pass", "collect_vnet_blob"]
    assert "flowcdr.formats" not in modules
    assert "flowcdr.api" not in modules


def _requirement_names(text: str) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return {re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower() for line in lines if line}


def _third_party(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {n for n in found if n.split(".")[0] not in {*sys.stdlib_module_names, "flowcdr"}}


def _distributions(module: str) -> set[str]:
    """Where an import comes from; azure.* is a namespace that many distributions share."""
    parts = module.split(".")
    if parts[0] == "azure":
        return {"-".join(parts[:3]), "-".join(parts[:2])}
    return {d.lower() for d in importlib.metadata.packages_distributions().get(parts[0], [])}


def test_requirements_cover_every_import_of_the_package() -> None:
    """Each third-party import comes from a listed distribution or one that a listed one needs."""
    package = files()
    listed = _requirement_names(package["requirements.txt"].decode())
    allowed = set(listed)
    for name in listed:
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                allowed.add(re.split(r"[<>=!~;\[ (]", requirement, maxsplit=1)[0].lower())
    missing = {
        f"{name}: {module}"
        for name, content in package.items()
        if name.endswith(".py")
        for module in _third_party(content.decode())
        if not _distributions(module) & allowed
    }
    assert missing == set()
