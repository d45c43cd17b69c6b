"""Finding the rules: every module below a catalogue package that defines ``RULE``.

The package is passed in (the CLI and the gateway pass ``flowcdr.detections``), so the engine
never imports its own catalogue and a deployment could add a folder of its own rules. The
checks here are the catalogue's invariants: a rule's id is its file's name (id and filename
predict each other), it sits in a folder named after its first tactic (or ``hygiene``), ids
are unique, and retired ids (``RETIRED`` beside the package) are never reused.
"""

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from flowcdr.detect.rule import TACTICS, Rule
from flowcdr.errors import FlowcdrError

HYGIENE = "hygiene"


class CatalogueError(FlowcdrError):
    """A rule module that breaks the catalogue's invariants."""


def load_rules(package: ModuleType) -> dict[str, Rule]:
    """The catalogue's rules by id, in a stable order (folder, then file)."""
    rules: dict[str, Rule] = {}
    retired = _retired(package)
    for info in sorted(
        pkgutil.walk_packages(package.__path__, package.__name__ + "."), key=lambda i: i.name
    ):
        if info.ispkg or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue  # packages and shared helpers (``_sql.py``) hold no rule
        module = importlib.import_module(info.name)
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise CatalogueError(f"{info.name}: defines no RULE")
        folder, stem = info.name.split(".")[-2:]
        expected = HYGIENE if rule.meta.insight else TACTICS[rule.meta.tactics[0]]
        if rule.id != stem:
            raise CatalogueError(f"{info.name}: rule id {rule.id!r} must be the file name")
        if folder != expected:
            raise CatalogueError(f"{info.name}: belongs in the folder {expected!r}")
        if rule.id in rules or rule.id in retired:
            raise CatalogueError(f"{info.name}: rule id {rule.id!r} is already taken or retired")
        rules[rule.id] = rule
    return rules


def _retired(package: ModuleType) -> set[str]:
    path = Path(next(iter(package.__path__))) / "RETIRED"
    if not path.exists():
        return set()
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line}
