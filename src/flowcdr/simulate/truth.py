"""The run's ground truth on disk: the labels file and the threat-intel feeds.

A feed is a plain list (one address a line, ``#`` comments), the simplest format the
detection stage's loaders read. The threat-intel feed holds the attackers of every label marked
``intel`` hidden among many unrelated public addresses, as a real feed would list far more than
one estate sees. The Tor relays a run uses go to a second list beside it, named ``tor-...``: a
deployment loads Tor's public relay list (Onionoo) for that, not a C2 feed, and the Tor rule
knows a relay on port 443 only by such a list.
"""

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.scenarios import Label

UNRELATED_ENTRIES = 2_000
UNRELATED_RELAYS = 500
TOR_SCENARIO = "tor"


def write_labels(path: Path, labels: Iterable[Label]) -> None:
    """One JSON object per line, in injection order."""
    with path.open("w", encoding="utf-8") as out:
        for item in labels:
            out.write(json.dumps(item.to_json(), separators=(",", ":")) + "\n")


def write_intel(path: Path, labels: Iterable[Label], rng: np.random.Generator) -> int:
    """The feed, and the Tor relay list beside it (``tor_list``); returns how many of their
    entries come from labels."""
    marked = [item for item in labels if item.intel]
    relays = _attackers(item for item in marked if item.scenario == TOR_SCENARIO)
    listed = _attackers(item for item in marked if item.scenario != TOR_SCENARIO)
    _write(path, listed, internet.public_ipv4(rng, UNRELATED_ENTRIES), rng, "threat-intel feed")
    _write(tor_list(path), relays, internet.public_ipv4(rng, UNRELATED_RELAYS), rng, "Tor relays")
    return len(listed) + len(relays)


def tor_list(path: Path) -> Path:
    """Where ``write_intel`` puts the Tor relays: its name starts with ``tor``."""
    return path.with_name(f"tor-{path.name}")


def _attackers(labels: Iterable[Label]) -> list[str]:
    return list(dict.fromkeys(a for item in labels for a in item.attackers))


def _write(
    path: Path, listed: list[str], others: np.ndarray, rng: np.random.Generator, what: str
) -> None:
    entries = np.array(listed + others.tolist())
    rng.shuffle(entries)
    with path.open("w", encoding="utf-8") as out:
        out.write(f"# flowcdr simulate: {what} (simulated; one IPv4 address a line)\n")
        out.writelines(f"{entry}\n" for entry in entries.tolist())
