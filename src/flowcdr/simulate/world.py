"""The fixed, seeded part of the traffic model, and its clock.

``World`` holds the estate and who is out there (web clients, background scanners, the
corporate NAT); the clock says how busy an hour is. Benign habits and attack scenarios both
draw on it, so an attack can come from the same internet as everyone else.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.topology import Topology

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class World:
    """The seeded, fixed part of the benign model: the estate and who is out there."""

    topology: Topology
    ipv4: np.ndarray
    ipv6: np.ndarray
    spoke: np.ndarray
    web_clients_v4: np.ndarray
    web_clients_v6: np.ndarray
    noise_sources: np.ndarray
    corporate_nat: np.ndarray
    backup_hour: int
    scan_hour: int


def build_world(rng: np.random.Generator, topology: Topology) -> World:
    vms = topology.vms
    return World(
        topology=topology,
        ipv4=np.array([vm.ipv4 for vm in vms], dtype=object),
        ipv6=np.array([vm.ipv6 for vm in vms], dtype=object),
        spoke=np.array([vm.subnet.vnet.index for vm in vms], dtype=np.int64),
        web_clients_v4=internet.public_ipv4(rng, 20_000 + 40 * len(vms)),
        web_clients_v6=internet.public_ipv6(rng, 2_000 + 4 * len(vms)),
        noise_sources=internet.public_ipv4(rng, 5_000),
        corporate_nat=internet.public_ipv4(rng, 4),
        backup_hour=int(rng.integers(0, 4)),
        scan_hour=int(rng.integers(0, 6)),
    )


def web_load(hour_ms: int) -> float:
    """Share of peak web traffic at this hour: an afternoon peak, 60% on weekends."""
    when = dt.datetime.fromtimestamp(hour_ms // 1000, dt.UTC)
    daily = 0.25 + 0.75 * (0.5 - 0.5 * np.cos((when.hour - 3) / 24 * 2 * np.pi))
    return float(daily * (0.6 if when.weekday() >= 5 else 1.0))


def office_hours(hour_ms: int) -> bool:
    when = dt.datetime.fromtimestamp(hour_ms // 1000, dt.UTC)
    return when.weekday() < 5 and 8 <= when.hour < 18


def at_random(
    rng: np.random.Generator, vms: np.ndarray, per_hour: float, hour_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sessions at a random rate (Poisson, ``per_hour`` a VM): which VM makes each, and when."""
    counts = rng.poisson(per_hour, len(vms))
    who = np.repeat(vms, counts)
    return who, hour_ms + rng.integers(0, HOUR_MS, len(who))


def on_timer(
    rng: np.random.Generator, vms: np.ndarray, period_ms: int, jitter_ms: int, hour_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sessions on a timer: each VM at its own phase, every ``period_ms`` give or take jitter."""
    phase = (vms * 7_919_000) % period_ms
    ticks = np.arange(-1, HOUR_MS // period_ms + 1)
    when = hour_ms - hour_ms % period_ms + phase[:, None] + ticks[None, :] * period_ms
    who = np.broadcast_to(vms[:, None], when.shape).ravel()
    when = when.ravel() + rng.integers(-jitter_ms, jitter_ms + 1, when.size)
    keep = (when >= hour_ms) & (when < hour_ms + HOUR_MS)
    return who[keep], when[keep]
