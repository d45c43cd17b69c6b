"""What every attack scenario shares: its context, its label, and a few ways to draw.

A scenario draws its own parameters from ranges (rates, timing, jitter, volumes, targets) with
the run's generator, so each seed gives another attack and no detection can be tuned to one.
It returns its sessions (the rest of the pipeline logs them like any traffic) and one label.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.sessions import Sessions, ephemeral_ports, make_sessions
from flowcdr.simulate.world import World

Initiator = Literal["attacker", "victim"]


@dataclass(frozen=True)
class Label:
    """Ground truth for one injected attack, one line of the labels file.

    Flows go from the ``initiator`` side to the other: an inbound scan from the attackers to
    the victims, a beacon from the victim to the attacker's server. ``intel`` says whether the
    attackers are in the threat-intel feed written with the run.
    """

    id: str
    scenario: str
    techniques: tuple[str, ...]
    attackers: tuple[str, ...]
    victims: tuple[str, ...]
    initiator: Initiator
    start_ms: int
    end_ms: int
    intel: bool
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "techniques": list(self.techniques),
            "attackers": list(self.attackers),
            "victims": list(self.victims),
            "initiator": self.initiator,
            "start": _iso(self.start_ms),
            "end": _iso(self.end_ms),
            "intel": self.intel,
            "params": self.params,
        }


@dataclass(frozen=True)
class Injection:
    sessions: Sessions
    label: Label


@dataclass(frozen=True)
class Context:
    """Where a scenario may act: the estate and the simulated time span."""

    world: World
    rng: np.random.Generator
    start_ms: int
    end_ms: int
    id: str

    def window(self, duration_ms: int) -> tuple[int, int]:
        """A random start and end inside the span, shortened if the span is shorter."""
        duration_ms = min(duration_ms, self.end_ms - self.start_ms - 60_000)
        latest = self.end_ms - duration_ms - 60_000
        start = int(self.rng.integers(self.start_ms, max(latest, self.start_ms + 1)))
        return start, start + duration_ms

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return int(self.rng.integers(low, high + 1))

    def choice(self, values: tuple[Any, ...]) -> Any:
        return values[int(self.rng.integers(len(values)))]

    def external(self, size: int = 1) -> np.ndarray:
        """Fresh public addresses for attacker infrastructure."""
        return internet.public_ipv4(self.rng, size)

    def vm(self, candidates: np.ndarray) -> int:
        return int(candidates[int(self.rng.integers(len(candidates)))])


Scenario = Callable[[Context], Injection]


def label(
    context: Context,
    scenario: str,
    sessions: Sessions,
    *,
    techniques: tuple[str, ...],
    attackers: np.ndarray | list[str],
    victims: np.ndarray | list[str],
    initiator: Initiator,
    intel: bool,
    **params: Any,
) -> Injection:
    """The injection of ``sessions``, labelled with their real time span.

    Sessions are cut at the end of the simulated span (a login after a long brute force may
    start after it), so the label never promises flows the run does not write.
    """
    sessions = sessions.take(sessions.start_ms < context.end_ms)
    sessions.duration_ms = np.minimum(sessions.duration_ms, context.end_ms - 1 - sessions.start_ms)
    ends = sessions.start_ms + sessions.duration_ms
    return Injection(
        sessions,
        Label(
            id=context.id,
            scenario=scenario,
            techniques=techniques,
            attackers=tuple(dict.fromkeys(str(a) for a in attackers)),
            victims=tuple(dict.fromkeys(str(v) for v in victims)),
            initiator=initiator,
            start_ms=int(sessions.start_ms.min()),
            end_ms=int(ends.max()),
            intel=intel,
            params={key: _plain(value) for key, value in params.items()},
        ),
    )


def _plain(value: Any) -> Any:
    """Parameters as JSON-ready values (numpy numbers and arrays become Python ones)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 3)
    return value


def _iso(ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def connections(
    context: Context,
    src: np.ndarray | str,
    dst: np.ndarray | str,
    *,
    start_ms: np.ndarray,
    duration_ms: np.ndarray | int,
    dst_port: np.ndarray | int,
    sent: tuple[np.ndarray | int, np.ndarray | int],
    received: tuple[np.ndarray | int, np.ndarray | int],
    **columns: Any,
) -> Sessions:
    """Sessions from ``src`` to ``dst`` with (packets, bytes) ``sent`` and ``received``.

    ``columns`` are the rest of ``make_sessions``'s (which NICs log it, rules, denial...).
    """
    n = len(start_ms)
    return make_sessions(
        n,
        start_ms=start_ms,
        duration_ms=duration_ms,
        src=src,
        dst=dst,
        src_port=ephemeral_ports(context.rng, n),
        dst_port=dst_port,
        packets_sent=sent[0],
        bytes_sent=sent[1],
        packets_received=received[0],
        bytes_received=received[1],
        **columns,
    )


def spread(context: Context, start_ms: int, end_ms: int, count: int, jitter: float) -> np.ndarray:
    """``count`` times evenly spaced over [start, end), each moved by up to ``jitter`` of a gap."""
    gap = (end_ms - start_ms) / max(count, 1)
    base = start_ms + np.arange(count) * gap
    moved = base + context.rng.uniform(-jitter, jitter, count) * gap
    return np.sort(np.clip(moved, start_ms, end_ms - 1)).astype(np.int64)
