"""The Function package: ``function_app.zip`` for the Terraform module's zip deploy.

It holds the Function app shell of ``flowcdr.collect.functionapp`` (``function_app.py``,
``host.json``, ``requirements.txt``) at its root, and the flowcdr modules that shell imports,
found by following its imports rather than listed by hand, so the package never misses a module
the collector gains nor carries the gateway. The bytes depend only on those files: entries are
sorted and stamped with one fixed time and mode, so the same code gives the same zip.
"""

import ast
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import flowcdr.collect.functionapp

SHELL_FILES = ("function_app.py", "host.json", "requirements.txt")
# The earliest time a zip entry can carry: nothing about the build machine or clock leaks in.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SHELL = Path(flowcdr.collect.functionapp.__file__).resolve().parent
_ROOT = _SHELL.parents[1]  # src/flowcdr


def module_file(name: str) -> Path | None:
    """The source file of flowcdr module ``name``, or None when it is not one (an attribute)."""
    parts = name.split(".")[1:]
    path = _ROOT.joinpath(*parts)
    if path.is_dir() and (path / "__init__.py").is_file():
        return path / "__init__.py"
    file = path.with_suffix(".py")
    return file if parts and file.is_file() else None


def _imported(path: Path) -> set[str]:
    """The flowcdr modules a source file imports, at top level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # ``from flowcdr.collect import checkpoint`` imports a module, not an attribute.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n == "flowcdr" or n.startswith("flowcdr.")}


def collector_modules() -> list[Path]:
    """Every flowcdr source file ``function_app.py`` needs, with each package's ``__init__``."""
    seen: set[Path] = set()
    pending = [_SHELL / "function_app.py"]
    while pending:
        for name in _imported(pending.pop()):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                file = module_file(".".join(parts[:depth]))
                if file is not None and file not in seen:
                    seen.add(file)
                    pending.append(file)
    return sorted(seen)


def deterministic_zip(entries: Iterable[tuple[str, bytes, int]]) -> bytes:
    """A zip of ``(name, data, mode)`` entries, sorted by name, with fixed times."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is honoured by unzip
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def function_package() -> bytes:
    """``function_app.zip``: the Function shell at the root, flowcdr's collector beside it."""
    entries = [(name, (_SHELL / name).read_bytes(), 0o644) for name in SHELL_FILES]
    for path in collector_modules():
        name = "flowcdr/" + path.relative_to(_ROOT).as_posix()
        entries.append((name, path.read_bytes(), 0o644))
    return deterministic_zip(entries)
