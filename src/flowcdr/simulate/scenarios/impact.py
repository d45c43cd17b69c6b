"""After the foothold, and against availability: lateral movement, exfiltration, a VM used to
attack others (DoS, brute force, spam), and a flood against a web VM."""

import numpy as np

from flowcdr.simulate.scenarios.base import Context, Injection, connections, label, spread
from flowcdr.simulate.sessions import UDP, Rule
from flowcdr.simulate.topology import Tier

ADMIN_PORTS = (445, 3389, 5985, 22, 135)


def lateral_movement(context: Context) -> Injection:
    """A compromised app VM trying admin protocols on many internal hosts; some let it in."""
    world, rng = context.world, context.rng
    attacker = context.vm(world.topology.tier(Tier.APP))
    everyone = np.arange(len(world.topology.vms))
    hosts = context.integer(10, 60)
    targets = rng.permutation(everyone[everyone != attacker])[:hosts]
    ports_per_host = context.integer(1, 3)
    ports = np.array(ADMIN_PORTS)[
        rng.permuted(np.tile(np.arange(len(ADMIN_PORTS)), (len(targets), 1)), axis=1)[
            :, :ports_per_host
        ].ravel()
    ]
    dst = np.repeat(targets, ports_per_host)
    n = len(dst)
    start, end = context.window(context.integer(120_000, 900_000))
    times = spread(context, start, end, n, 0.5)
    success = rng.random(n) < context.uniform(0.05, 0.3)
    sessions = connections(
        context,
        world.ipv4[attacker],
        world.ipv4[dst],
        start_ms=times,
        duration_ms=np.where(success, rng.integers(5_000, 600_000, n), rng.integers(1, 50, n)),
        dst_port=ports,
        sent=(np.where(success, 400, 2), np.where(success, 300_000, 120)),
        received=(np.where(success, 300, 1), np.where(success, 90_000, 40)),
        src_vm=attacker,
        dst_vm=dst,
        rule_out=Rule.ALLOW_VNET_OUT,
        rule_in=Rule.ALLOW_VNET_IN,
    )
    return label(
        context,
        "lateral_movement",
        sessions,
        techniques=("T1021.002", "T1021.001", "T1021.006", "T1210"),
        attackers=[world.ipv4[attacker]],
        victims=world.ipv4[targets],
        initiator="attacker",
        intel=False,
        hosts=hosts,
        ports_per_host=ports_per_host,
        successes=int(success.sum()),
        duration_s=(end - start) // 1000,
    )


def exfiltration(context: Context) -> Injection:
    """Gigabytes pushed to a rare host, far more out than in, over a few parallel streams."""
    world, rng = context.world, context.rng
    victim = context.vm(world.topology.tier(Tier.DB))
    drop = str(context.external()[0])
    gigabytes = context.uniform(0.3, 8)
    streams = context.integer(1, 8)
    minutes = context.integer(10, 180)
    port = context.choice((443, 22, 21, 8443))
    start, end = context.window(minutes * 60_000)
    per_stream = int(gigabytes * 1e9 / streams)
    times = spread(context, start, start + 60_000, streams, 0.5)
    sessions = connections(
        context,
        world.ipv4[victim],
        drop,
        start_ms=times,
        duration_ms=end - times,
        dst_port=port,
        sent=(per_stream // 1400, per_stream),
        received=(per_stream // 14_000, per_stream // 14_000 * 60),
        src_vm=victim,
    )
    return label(
        context,
        "exfiltration",
        sessions,
        techniques=("T1041", "T1048"),
        attackers=[drop],
        victims=[world.ipv4[victim]],
        initiator="victim",
        intel=bool(rng.random() < 0.2),
        gigabytes=gigabytes,
        streams=streams,
        minutes=minutes,
        port=port,
    )


def dos(context: Context) -> Injection:
    """A VM flooding one internet host with UDP from random ports (a booter's bot)."""
    world, rng = context.world, context.rng
    attacker = context.vm(world.topology.tier(Tier.WEB))
    target = str(context.external()[0])
    per_minute = context.integer(1_000, 8_000)
    minutes = context.integer(2, 10)
    port = context.choice((53, 80, 123, 443, 27015))
    start, end = context.window(minutes * 60_000)
    n = per_minute * (end - start) // 60_000
    times = np.sort(rng.integers(start, end, n))
    sessions = connections(
        context,
        world.ipv4[attacker],
        target,
        start_ms=times,
        duration_ms=rng.integers(0, 2, n),
        dst_port=port,
        sent=(rng.integers(1, 4, n), rng.integers(512, 1_400, n)),
        received=(0, 0),
        protocol=UDP,
        src_vm=attacker,
    )
    return label(
        context,
        "dos",
        sessions,
        techniques=("T1498.001",),
        attackers=[world.ipv4[attacker]],
        victims=[target],
        initiator="attacker",
        intel=False,
        flows_per_minute=per_minute,
        minutes=minutes,
        port=port,
    )


def spam(context: Context) -> Injection:
    """A VM relaying mail to many mail servers at once."""
    world, rng = context.world, context.rng
    attacker = context.vm(world.topology.tier(Tier.WEB))
    servers = context.integer(50, 500)
    relays = context.external(servers)
    start, end = context.window(int(context.uniform(0.5, 3) * 3_600_000))
    times = spread(context, start, end, servers, 0.8)
    port = context.choice((25, 587, 465))
    sessions = connections(
        context,
        world.ipv4[attacker],
        relays,
        start_ms=times,
        duration_ms=rng.integers(500, 8_000, servers),
        dst_port=port,
        sent=(rng.integers(10, 40, servers), rng.integers(3_000, 60_000, servers)),
        received=(rng.integers(8, 20, servers), rng.integers(600, 2_000, servers)),
        src_vm=attacker,
    )
    return label(
        context,
        "spam",
        sessions,
        techniques=("T1496.002",),
        attackers=[world.ipv4[attacker]],
        victims=relays,
        initiator="attacker",
        intel=False,
        servers=servers,
        port=port,
    )


def outbound_brute_force(context: Context) -> Injection:
    """A compromised VM guessing SSH or RDP passwords on many internet hosts (one to many)."""
    world, rng = context.world, context.rng
    attacker = context.vm(world.topology.tier(Tier.WEB))
    hosts = context.integer(20, 300)
    targets = context.external(hosts)
    per_host = rng.integers(1, 6, hosts)
    port = context.choice((22, 22, 3389))
    start, end = context.window(context.integer(600_000, 3_600_000))
    dst = np.repeat(targets, per_host)
    n = len(dst)
    sessions = connections(
        context,
        world.ipv4[attacker],
        dst,
        start_ms=np.sort(rng.integers(start, end, n)),
        duration_ms=rng.integers(500, 5_000, n),
        dst_port=port,
        sent=(rng.integers(8, 20, n), rng.integers(2_000, 4_000, n)),
        received=(rng.integers(6, 16, n), rng.integers(2_500, 5_000, n)),
        src_vm=attacker,
    )
    return label(
        context,
        "outbound_brute_force",
        sessions,
        techniques=("T1110.001", "T1021.004" if port == 22 else "T1021.001"),
        attackers=[world.ipv4[attacker]],
        victims=targets,
        initiator="attacker",
        intel=False,
        port=port,
        hosts=hosts,
        attempts=n,
    )


def inbound_flood(context: Context) -> Injection:
    """A SYN flood on a web VM from many (spoofed) sources: tiny flows, never answered."""
    world, rng = context.world, context.rng
    victim = context.vm(world.topology.tier(Tier.WEB))
    sources = context.integer(300, 3_000)
    attackers = context.external(sources)
    per_minute = context.integer(500, 5_000)
    minutes = context.integer(2, 10)
    port = context.choice((443, 80))
    start, end = context.window(minutes * 60_000)
    n = per_minute * (end - start) // 60_000
    sessions = connections(
        context,
        attackers[rng.integers(0, sources, n)],
        world.ipv4[victim],
        start_ms=np.sort(rng.integers(start, end, n)),
        duration_ms=0,
        dst_port=port,
        sent=(1, 60),
        received=(0, 0),
        dst_vm=victim,
        rule_in=Rule.ALLOW_HTTPS_IN,
    )
    return label(
        context,
        "inbound_flood",
        sessions,
        techniques=("T1498.001", "T1499.001"),
        attackers=np.unique(sessions.src),
        victims=[world.ipv4[victim]],
        initiator="attacker",
        intel=False,
        sources=sources,
        flows_per_minute=per_minute,
        minutes=minutes,
        port=port,
    )
