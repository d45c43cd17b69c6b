"""The Terraform templates as plain data: python-hcl2's parse with its quoting undone.

python-hcl2 8 keeps the quotes of string values and block labels (``'"3.12"'``) and marks blocks
with ``__is_block__``; ``plain`` removes both, and keeps the comments (the inline checkov skips)
under ``__comments__`` as plain strings.
"""

from pathlib import Path
from typing import Any

import hcl2

TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "flowcdr" / "deploy" / "terraform"


def plain(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__is_block__":
                continue
            if key == "__comments__":
                out[key] = [c["value"] for c in value]
                continue
            out[plain(key)] = plain(value)
        return out
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return node[1:-1]
    return node


def load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed: dict[str, Any] = plain(hcl2.load(handle))
        return parsed


def module(folder: Path = TEMPLATES) -> dict[str, Any]:
    """Every top-level block of every ``.tf`` file, merged: ``resource[type][name]``,
    ``data[type][name]``, ``variable[name]``, ``output[name]``, ``locals``, ``terraform``,
    ``provider[name]``."""
    merged: dict[str, Any] = {
        "resource": {},
        "data": {},
        "variable": {},
        "output": {},
        "locals": {},
        "provider": {},
        "terraform": {},
    }
    for path in sorted(folder.glob("*.tf")):
        for kind, blocks in load(path).items():
            if kind == "__comments__":  # the file's own comments
                continue
            for block in blocks:
                if kind in ("resource", "data"):
                    for type_, named in block.items():
                        merged[kind].setdefault(type_, {}).update(named)
                else:
                    merged[kind].update(block)
    return merged
