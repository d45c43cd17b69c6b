"""Attack scenarios, one per detection family of the detection catalogue, by name.

``SCENARIOS`` is the catalogue ``--scenarios`` picks from; ``inject`` draws each chosen scenario
once per simulated day (at least once), all from the run's generator.
"""

import numpy as np

from flowcdr.simulate.scenarios.access import (
    brute_force,
    exposed_database_port,
    exposed_management_port,
    password_spray,
)
from flowcdr.simulate.scenarios.base import Context, Injection, Label, Scenario
from flowcdr.simulate.scenarios.command import (
    beaconing,
    dns_tunnel,
    long_connection,
    mining,
    threat_intel_contact,
    tor,
)
from flowcdr.simulate.scenarios.impact import (
    dos,
    exfiltration,
    inbound_flood,
    lateral_movement,
    outbound_brute_force,
    spam,
)
from flowcdr.simulate.scenarios.recon import (
    internal_port_scan,
    internal_sweep,
    internet_sweep,
    port_scan_fast,
    port_scan_slow,
)
from flowcdr.simulate.world import World

SCENARIOS: dict[str, Scenario] = {
    scenario.__name__: scenario
    for scenario in (
        port_scan_fast,
        port_scan_slow,
        internet_sweep,
        internal_sweep,
        internal_port_scan,
        brute_force,
        password_spray,
        outbound_brute_force,
        exposed_management_port,
        exposed_database_port,
        beaconing,
        long_connection,
        tor,
        threat_intel_contact,
        dns_tunnel,
        mining,
        lateral_movement,
        exfiltration,
        dos,
        inbound_flood,
        spam,
    )
}

__all__ = ["SCENARIOS", "Injection", "Label", "inject"]

_DAY_MS = 86_400_000


def inject(
    world: World, rng: np.random.Generator, start_ms: int, end_ms: int, names: list[str]
) -> list[Injection]:
    """The chosen scenarios, each once per started day of [start_ms, end_ms)."""
    days = max(1, (end_ms - start_ms) // _DAY_MS)
    injections: list[Injection] = []
    for day in range(days):
        day_start = start_ms + day * _DAY_MS
        day_end = end_ms if days == 1 else day_start + _DAY_MS
        for name in names:
            scenario_id = f"s{len(injections) + 1:03d}-{name}"
            context = Context(world, rng, day_start, day_end, scenario_id)
            injections.append(SCENARIOS[name](context))
    return injections
