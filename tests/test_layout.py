"""Project-wide rules: imports only go downstream, and public surfaces are complete."""

import ast
from pathlib import Path

import flowcdr.formats

SRC = Path(__file__).resolve().parents[1] / "src" / "flowcdr"

# What each stage may import from flowcdr, besides itself. formats is pure: only the root error.
_BASE = {"flowcdr.errors"}
ALLOWED = {
    "formats": _BASE,
    "azure": _BASE,
    "auth": _BASE,
    "store": _BASE | {"flowcdr.config", "flowcdr.formats"},
    "enrich": _BASE | {"flowcdr.formats"},
    "collect": _BASE | {"flowcdr.formats", "flowcdr.azure"},
    "simulate": _BASE | {"flowcdr.formats", "flowcdr.azure"},
    "detect": _BASE | {"flowcdr.config", "flowcdr.formats", "flowcdr.enrich", "flowcdr.store"},
    "detections": _BASE | {"flowcdr.detect", "flowcdr.formats"},
    "deploy": _BASE | {"flowcdr.collect"},
    "inventory": _BASE | {"flowcdr.config", "flowcdr.formats", "flowcdr.store", "flowcdr.detect"},
    "api": _BASE
    | {
        "flowcdr.config",
        "flowcdr.formats",
        "flowcdr.enrich",
        "flowcdr.store",
        "flowcdr.auth",
        "flowcdr.azure",
        "flowcdr.detect",
        "flowcdr.detections",
        "flowcdr.deploy",
        "flowcdr.inventory",
        "flowcdr.web",
    },
    "web": _BASE
    | {
        "flowcdr.config",
        "flowcdr.formats",
        "flowcdr.store",
        "flowcdr.auth",
        "flowcdr.api",
        "flowcdr.detect",
        "flowcdr.azure",
        "flowcdr.inventory",
    },
    "cli": _BASE
    | {
        "flowcdr.config",
        "flowcdr.formats",
        "flowcdr.enrich",
        "flowcdr.store",
        "flowcdr.auth",
        "flowcdr.api",
        "flowcdr.collect",
        "flowcdr.simulate",
        "flowcdr.detect",
        "flowcdr.detections",
        "flowcdr.inventory",
    },
}


def flowcdr_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n == "flowcdr" or n.startswith("flowcdr.")}


def test_imports_only_go_downstream() -> None:
    offences = []
    for stage, allowed in ALLOWED.items():
        for path in sorted((SRC / stage).rglob("*.py")):
            for name in flowcdr_imports(path):
                inside = name == f"flowcdr.{stage}" or name.startswith(f"flowcdr.{stage}.")
                if not inside and not any(name.startswith(a) for a in allowed):
                    offences.append(f"{path.relative_to(SRC)} imports {name}")
    assert offences == []


def test_every_stage_has_import_rules() -> None:
    stages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert stages == set(ALLOWED)


def test_formats_public_api_is_complete() -> None:
    public = {
        name
        for name in dir(flowcdr.formats)
        if not name.startswith("_") and not isinstance(getattr(flowcdr.formats, name), type(ast))
    }
    assert set(flowcdr.formats.__all__) == public
