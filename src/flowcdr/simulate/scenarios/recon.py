"""Reconnaissance: port scans and sweeps, from the internet and from a compromised VM.

Scans are mostly denied by the NSG (one ``D`` tuple per probe); probes of ports the NSG allows
get the short answer of a closed or open port, which is what makes a scan of an exposed VM
visible in allowed traffic too.
"""

import numpy as np

from flowcdr.simulate.scenarios.base import Context, Injection, connections, label, spread
from flowcdr.simulate.sessions import Rule
from flowcdr.simulate.topology import Tier
from flowcdr.simulate.world import World


def _allowed(world: World, victim: int, ports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which probes the victim's NSG lets through (web ports on a web VM), and their rules."""
    web = world.topology.vms[victim].tier is Tier.WEB
    allowed = np.isin(ports, (80, 443)) & web
    return allowed, np.where(allowed, Rule.ALLOW_HTTPS_IN, Rule.DENY_ALL_IN)


def _scan(context: Context, name: str, duration_ms: int, ports: int, jitter: float) -> Injection:
    world = context.world
    victim = context.vm(world.topology.exposed())
    attacker = str(context.external()[0])
    start, end = context.window(duration_ms)
    port_list = context.rng.permutation(np.arange(1, 65536))[:ports]
    if context.rng.random() < 0.5:  # many scanners try the well-known ports first
        port_list[:3] = (22, 80, 443)
    times = spread(context, start, end, ports, jitter)
    allowed, rules = _allowed(world, victim, port_list)
    n = len(times)
    sessions = connections(
        context,
        attacker,
        world.ipv4[victim],
        start_ms=times,
        duration_ms=np.where(allowed, context.rng.integers(1, 200, n), 0),
        dst_port=port_list,
        sent=(np.where(allowed, 2, 1), np.where(allowed, 104, 44)),
        received=(np.where(allowed, 1, 0), np.where(allowed, 40, 0)),
        dst_vm=victim,
        rule_in=rules,
        denied=~allowed,
    )
    intel = bool(context.rng.random() < 0.5)
    return label(
        context,
        name,
        sessions,
        techniques=("T1046", "T1595.001"),
        attackers=[attacker],
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=intel,
        ports=ports,
        duration_s=(end - start) // 1000,
        probes_per_minute=ports / max((end - start) / 60_000, 1e-3),
    )


def port_scan_fast(context: Context) -> Injection:
    """Hundreds of ports in a few minutes (masscan/nmap -T4 style)."""
    duration = context.integer(30_000, 300_000)
    return _scan(context, "port_scan_fast", duration, context.integer(100, 1000), 0.4)


def port_scan_slow(context: Context) -> Injection:
    """A few ports an hour for hours: under any per-minute threshold."""
    hours = context.uniform(2, 12)
    per_hour = context.uniform(8, 30)
    ports = max(20, int(hours * per_hour))
    return _scan(context, "port_scan_slow", int(hours * 3_600_000), ports, 0.45)


def internal_sweep(context: Context) -> Injection:
    """A compromised VM probing one port across many internal hosts (discovery)."""
    world = context.world
    everyone = np.arange(len(world.topology.vms))
    attacker = context.vm(world.topology.tier(Tier.WEB))
    targets = context.rng.permutation(everyone[everyone != attacker])
    hosts = min(len(targets), context.integer(20, 150))
    targets = targets[:hosts]
    port = context.choice((22, 445, 3389, 5985, 6379, 9200))
    start, end = context.window(context.integer(60_000, 1_200_000))
    times = spread(context, start, end, hosts, 0.3)
    answered = context.rng.random(hosts) < 0.2
    sessions = connections(
        context,
        world.ipv4[attacker],
        world.ipv4[targets],
        start_ms=times,
        duration_ms=context.rng.integers(1, 30, hosts),
        dst_port=port,
        sent=(np.where(answered, 3, 2), np.where(answered, 180, 120)),
        received=(np.where(answered, 2, 1), np.where(answered, 120, 40)),
        src_vm=attacker,
        dst_vm=targets,
        rule_out=Rule.ALLOW_VNET_OUT,
        rule_in=Rule.ALLOW_VNET_IN,
    )
    return label(
        context,
        "internal_sweep",
        sessions,
        techniques=("T1046", "T1018"),
        attackers=[world.ipv4[attacker]],
        victims=world.ipv4[targets],
        initiator="attacker",
        intel=False,
        port=port,
        hosts=hosts,
        duration_s=(end - start) // 1000,
    )


def internet_sweep(context: Context) -> Injection:
    """One internet source trying one port on many exposed VMs (a horizontal sweep), denied."""
    world, rng = context.world, context.rng
    exposed = world.topology.exposed()
    hosts = min(len(exposed), context.integer(5, 200))
    targets = rng.permutation(exposed)[:hosts]
    attacker = str(context.external()[0])
    port = context.choice((22, 23, 445, 3389, 5900, 6379, 9200))
    start, end = context.window(context.integer(30_000, 1_200_000))
    sessions = connections(
        context,
        attacker,
        world.ipv4[targets],
        start_ms=spread(context, start, end, hosts, 0.4),
        duration_ms=0,
        dst_port=port,
        sent=(1, 60),
        received=(0, 0),
        dst_vm=targets,
        rule_in=Rule.DENY_ALL_IN,
        denied=True,
    )
    return label(
        context,
        "internet_sweep",
        sessions,
        techniques=("T1595.001", "T1046"),
        attackers=[attacker],
        victims=world.ipv4[targets],
        initiator="attacker",
        intel=bool(rng.random() < 0.5),
        port=port,
        hosts=hosts,
        duration_s=(end - start) // 1000,
    )


def internal_port_scan(context: Context) -> Injection:
    """A compromised VM probing many ports of one internal host; closed ports answer a reset."""
    world, rng = context.world, context.rng
    attacker = context.vm(world.topology.tier(Tier.APP))
    everyone = np.arange(len(world.topology.vms))
    victim = context.vm(everyone[everyone != attacker])
    ports = context.integer(30, 300)
    port_list = rng.permutation(np.arange(1, 10_000))[:ports]
    start, end = context.window(context.integer(60_000, 600_000))
    open_port = rng.random(ports) < 0.05
    sessions = connections(
        context,
        world.ipv4[attacker],
        world.ipv4[victim],
        start_ms=spread(context, start, end, ports, 0.4),
        duration_ms=np.where(open_port, rng.integers(5, 500, ports), rng.integers(0, 5, ports)),
        dst_port=port_list,
        sent=(np.where(open_port, 3, 1), np.where(open_port, 180, 60)),
        received=(np.where(open_port, 2, 1), np.where(open_port, 120, 40)),
        src_vm=attacker,
        dst_vm=victim,
        rule_out=Rule.ALLOW_VNET_OUT,
        rule_in=Rule.ALLOW_VNET_IN,
    )
    return label(
        context,
        "internal_port_scan",
        sessions,
        techniques=("T1046",),
        attackers=[world.ipv4[attacker]],
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=False,
        ports=ports,
        open_ports=int(open_port.sum()),
        duration_s=(end - start) // 1000,
    )
