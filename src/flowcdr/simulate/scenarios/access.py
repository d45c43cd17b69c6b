"""Initial access: brute force (one source, or sprayed from many) and exposed services.

Each targets a VM behind a rule someone opened to "Any" (``UserRule_TemporaryRdpSshAnyInBound``,
``UserRule_DatabaseAnyInBound``): against a closed port these attacks are just denied noise,
which the benign background already has plenty of.
"""

import numpy as np

from flowcdr.simulate.scenarios.base import Context, Injection, connections, label, spread
from flowcdr.simulate.sessions import Rule, concat
from flowcdr.simulate.topology import Tier

MANAGEMENT_PORTS = (22, 3389)
DATABASE_PORTS = (1433, 3306, 5432, 6379, 9200, 27017)
BRUTE_FORCED_DATABASE_PORTS = (1433, 3306, 5432)
_REMOTE_SERVICE = {22: ("T1021.004",), 3389: ("T1021.001",)}


def brute_force(context: Context) -> Injection:
    """One source guessing passwords: many short, same-sized sessions; then maybe a login.

    Mostly SSH or RDP on a web or jump VM; now and then a database login on a database VM.
    """
    world, rng = context.world, context.rng
    port = context.choice(MANAGEMENT_PORTS * 2 + BRUTE_FORCED_DATABASE_PORTS)
    database = port in BRUTE_FORCED_DATABASE_PORTS
    victim = context.vm(world.topology.tier(Tier.DB) if database else world.topology.exposed())
    rule = Rule.ALLOW_ANY_DATABASE_IN if database else Rule.ALLOW_ANY_MANAGEMENT_IN
    attacker = str(context.external()[0])
    attempts = context.integer(30, 400)
    per_minute = context.uniform(3, 60)
    start, end = context.window(int(attempts / per_minute * 60_000))
    times = spread(context, start, end, attempts, 0.5)
    size = context.integer(2_000, 5_000)
    sent_bytes = (size * rng.uniform(0.9, 1.1, attempts)).astype(np.int64)
    tries = connections(
        context,
        attacker,
        world.ipv4[victim],
        start_ms=times,
        duration_ms=rng.integers(800, 6_000, attempts),
        dst_port=port,
        sent=(rng.integers(10, 20, attempts), sent_bytes),
        received=(rng.integers(8, 16, attempts), (sent_bytes * 1.3).astype(np.int64)),
        dst_vm=victim,
        rule_in=rule,
    )
    success = bool(rng.random() < 0.5)
    parts = [tries]
    if success:
        login = int(times[-1]) + context.integer(1_000, 600_000)
        minutes = context.integer(10, 120)
        parts.append(
            connections(
                context,
                attacker,
                world.ipv4[victim],
                start_ms=np.array([login]),
                duration_ms=minutes * 60_000,
                dst_port=port,
                sent=(minutes * 900, minutes * 120_000),
                received=(minutes * 1_500, minutes * 900_000),
                dst_vm=victim,
                rule_in=rule,
            )
        )
    sessions = concat(parts)
    return label(
        context,
        "brute_force",
        sessions,
        techniques=("T1110.001", *_REMOTE_SERVICE.get(port, ())) + (("T1078",) if success else ()),
        attackers=[attacker],
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=bool(rng.random() < 0.5),
        port=port,
        attempts=attempts,
        attempts_per_minute=per_minute,
        success=success,
    )


def password_spray(context: Context) -> Injection:
    """Many sources, each trying a few passwords, spread over hours."""
    world, rng = context.world, context.rng
    victim = context.vm(world.topology.exposed())
    sources = context.integer(20, 200)
    attackers = context.external(sources)
    per_source = rng.integers(1, 6, sources)
    port = context.choice(MANAGEMENT_PORTS)
    start, end = context.window(int(context.uniform(1, 6) * 3_600_000))
    src = np.repeat(attackers, per_source)
    n = len(src)
    times = np.sort(rng.integers(start, end, n))
    sessions = connections(
        context,
        src,
        world.ipv4[victim],
        start_ms=times,
        duration_ms=rng.integers(800, 6_000, n),
        dst_port=port,
        sent=(rng.integers(10, 20, n), rng.integers(2_500, 3_500, n)),
        received=(rng.integers(8, 16, n), rng.integers(3_000, 4_500, n)),
        dst_vm=victim,
        rule_in=Rule.ALLOW_ANY_MANAGEMENT_IN,
    )
    return label(
        context,
        "password_spray",
        sessions,
        techniques=("T1110.003",),
        attackers=attackers,
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=bool(rng.random() < 0.3),
        port=port,
        sources=sources,
        attempts=n,
    )


def _exposed(
    context: Context, name: str, tier: Tier, ports: tuple[int, ...], rule: Rule
) -> Injection:
    world, rng = context.world, context.rng
    victim = context.vm(world.topology.tier(tier))
    port = context.choice(ports)
    sources = context.integer(3, 30)
    attackers = context.external(sources)
    start, end = context.window(int(context.uniform(1, 12) * 3_600_000))
    times = np.sort(rng.integers(start, end, sources))
    sessions = connections(
        context,
        attackers,
        world.ipv4[victim],
        start_ms=times,
        duration_ms=rng.integers(200, 20_000, sources),
        dst_port=port,
        sent=(rng.integers(3, 30, sources), rng.integers(200, 4_000, sources)),
        received=(rng.integers(2, 30, sources), rng.integers(200, 9_000, sources)),
        dst_vm=victim,
        rule_in=rule,
    )
    techniques = ("T1133", "T1021") if tier is Tier.JUMP else ("T1190", "T1133")
    return label(
        context,
        name,
        sessions,
        techniques=techniques,
        attackers=attackers,
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=bool(rng.random() < 0.3),
        port=port,
        sources=sources,
    )


def exposed_management_port(context: Context) -> Injection:
    """RDP/SSH/WinRM/VNC answering the internet on a jump host."""
    ports = (22, 3389, 5985, 5986, 5900)
    return _exposed(
        context, "exposed_management_port", Tier.JUMP, ports, Rule.ALLOW_ANY_MANAGEMENT_IN
    )


def exposed_database_port(context: Context) -> Injection:
    """A database port answering the internet."""
    name = "exposed_database_port"
    return _exposed(context, name, Tier.DB, DATABASE_PORTS, Rule.ALLOW_ANY_DATABASE_IN)
