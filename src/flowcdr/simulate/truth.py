"""The run's ground truth on disk: the labels file and the threat-intel feed.

The feed is a plain list (one address a line, ``#`` comments), the simplest format the
detection stage's loaders read. It holds the attackers of every label marked ``intel`` hidden
among many unrelated public addresses, as a real feed would list far more than one estate sees.
"""

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.scenarios import Label

UNRELATED_ENTRIES = 2_000


def write_labels(path: Path, labels: Iterable[Label]) -> None:
    """One JSON object per line, in injection order."""
    with path.open("w", encoding="utf-8") as out:
        for item in labels:
            out.write(json.dumps(item.to_json(), separators=(",", ":")) + "\n")


def write_intel(path: Path, labels: Iterable[Label], rng: np.random.Generator) -> int:
    """The feed; returns how many of its entries come from labels."""
    listed = list(dict.fromkeys(a for item in labels if item.intel for a in item.attackers))
    entries = np.array(listed + internet.public_ipv4(rng, UNRELATED_ENTRIES).tolist())
    rng.shuffle(entries)
    with path.open("w", encoding="utf-8") as out:
        out.write("# flowcdr simulate: threat-intel feed (simulated; one IPv4 address a line)\n")
        out.writelines(f"{entry}\n" for entry in entries.tolist())
    return len(listed)
