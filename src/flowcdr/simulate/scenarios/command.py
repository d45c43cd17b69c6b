"""Command and control: beacons, long sessions, Tor, known-bad servers, DNS tunnels, mining.

All start at a compromised VM and go out through the default internet rule, as real implants
do; what tells them apart from the benign timers (monitoring agents, NTP) is the destination's
rarity, the period, and the threat-intel feed.
"""

import numpy as np

from flowcdr.simulate.scenarios.base import Context, Injection, connections, label, spread
from flowcdr.simulate.sessions import UDP

# The OR/Dir ports Tor relays listen on most (9001 and 443 by far, then 9030 and 8443).
TOR_OR_PORTS = (9001, 9001, 443, 9030, 8443)


def _compromised(context: Context) -> int:
    return int(context.rng.integers(len(context.world.topology.vms)))


def beaconing(context: Context) -> Injection:
    """Periodic callbacks with jitter in time and size (Cobalt Strike-like sleep/jitter)."""
    rng = context.rng
    victim = _compromised(context)
    server = str(context.external()[0])
    interval_s = float(np.exp(rng.uniform(np.log(30), np.log(14_400))))
    jitter = context.uniform(0.0, 0.6)
    start, end = context.window(int(context.uniform(6, 24) * 3_600_000))
    # At least six callbacks: a short run makes the period shorter rather than the beacon silent.
    interval_s = min(interval_s, (end - start) / 1000 / 6)
    count = int((end - start) / 1000 / interval_s)
    times = spread(context, start, end, count, jitter / 2)
    size = context.integer(200, 4_000)
    size_jitter = context.uniform(0.0, 0.3)
    sent = (size * (1 + rng.uniform(-size_jitter, size_jitter, count))).astype(np.int64)
    port = context.choice((443, 443, 80, 8080, 8443))
    sessions = connections(
        context,
        context.world.ipv4[victim],
        server,
        start_ms=times,
        duration_ms=rng.integers(100, 2_000, count),
        dst_port=port,
        sent=(rng.integers(3, 8, count), sent),
        received=(rng.integers(3, 8, count), rng.integers(300, 1_200, count)),
        src_vm=victim,
    )
    return label(
        context,
        "beaconing",
        sessions,
        techniques=("T1071.001", "T1573"),
        attackers=[server],
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=bool(rng.random() < 0.5),
        interval_s=interval_s,
        jitter=jitter,
        bytes=size,
        size_jitter=size_jitter,
        port=port,
        callbacks=count,
    )


def long_connection(context: Context) -> Injection:
    """One session held open for hours: a reverse shell or tunnel, trickling both ways."""
    victim = _compromised(context)
    server = str(context.external()[0])
    hours = context.uniform(2, 14)
    start, end = context.window(int(hours * 3_600_000))
    minutes = (end - start) // 60_000
    port = context.choice((443, 22, 8443, 4444))
    sessions = connections(
        context,
        context.world.ipv4[victim],
        server,
        start_ms=np.array([start]),
        duration_ms=end - start,
        dst_port=port,
        sent=(minutes * context.integer(5, 60), minutes * context.integer(500, 20_000)),
        received=(minutes * context.integer(5, 60), minutes * context.integer(500, 20_000)),
        src_vm=victim,
    )
    return label(
        context,
        "long_connection",
        sessions,
        techniques=("T1071", "T1572"),
        attackers=[server],
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=bool(context.rng.random() < 0.3),
        hours=(end - start) / 3_600_000,
        port=port,
    )


def tor(context: Context) -> Injection:
    """A VM running a Tor client: circuits to a few relays' OR ports, hours long."""
    rng = context.rng
    victim = _compromised(context)
    relays = context.external(context.integer(3, 8))
    ports = np.array([context.choice(TOR_OR_PORTS) for _ in relays])
    start, end = context.window(int(context.uniform(1, 8) * 3_600_000))
    circuits = context.integer(len(relays), 40)
    # Every relay carries a circuit; the rest go to relays at random.
    extra = rng.integers(0, len(relays), circuits - len(relays))
    pick = rng.permutation(np.concatenate([np.arange(len(relays)), extra]))
    times = np.sort(rng.integers(start, end, circuits))
    durations = np.minimum(rng.integers(60_000, 3_600_000, circuits), end - times)
    sessions = connections(
        context,
        context.world.ipv4[victim],
        relays[pick],
        start_ms=times,
        duration_ms=durations,
        dst_port=ports[pick],
        sent=(rng.integers(50, 5_000, circuits), rng.integers(30_000, 5_000_000, circuits)),
        received=(rng.integers(50, 8_000, circuits), rng.integers(30_000, 9_000_000, circuits)),
        src_vm=victim,
    )
    return label(
        context,
        "tor",
        sessions,
        techniques=("T1090.003",),
        attackers=relays,
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=True,
        relays=len(relays),
        circuits=circuits,
        ports=sorted(set(ports.tolist())),
    )


def threat_intel_contact(context: Context) -> Injection:
    """A few connections to a server the threat-intel feed lists as C2."""
    rng = context.rng
    victim = _compromised(context)
    server = str(context.external()[0])
    count = context.integer(1, 12)
    start, end = context.window(int(context.uniform(0.2, 4) * 3_600_000))
    times = np.sort(rng.integers(start, end, count))
    port = context.choice((443, 80, 8080, 447, 449))
    sessions = connections(
        context,
        context.world.ipv4[victim],
        server,
        start_ms=times,
        duration_ms=rng.integers(200, 30_000, count),
        dst_port=port,
        sent=(rng.integers(4, 40, count), rng.integers(400, 40_000, count)),
        received=(rng.integers(4, 60, count), rng.integers(400, 200_000, count)),
        src_vm=victim,
    )
    return label(
        context,
        "threat_intel_contact",
        sessions,
        techniques=("T1071", "T1105"),
        attackers=[server],
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=True,
        connections=count,
        port=port,
    )


def mining(context: Context) -> Injection:
    """A miner on a stratum port: long, steady, small-packet sessions that reconnect."""
    rng = context.rng
    victim = _compromised(context)
    pool = str(context.external()[0])
    port = context.choice((3333, 4444, 5555, 7777, 14444, 45700))
    start, end = context.window(int(context.uniform(2, 20) * 3_600_000))
    reconnects = context.integer(1, 6)
    bounds = np.linspace(start, end, reconnects + 1).astype(np.int64)
    minutes = np.maximum((bounds[1:] - bounds[:-1]) // 60_000, 1)
    shares_per_minute = context.uniform(1, 6)
    packets = (minutes * shares_per_minute * 2).astype(np.int64) + 3
    sessions = connections(
        context,
        context.world.ipv4[victim],
        pool,
        start_ms=bounds[:-1],
        duration_ms=bounds[1:] - bounds[:-1] - 1_000,
        dst_port=port,
        sent=(packets, packets * rng.integers(150, 250)),
        received=(packets, packets * rng.integers(150, 400)),
        src_vm=victim,
    )
    return label(
        context,
        "mining",
        sessions,
        techniques=("T1496.001",),
        attackers=[pool],
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=bool(rng.random() < 0.7),
        port=port,
        reconnects=reconnects,
        shares_per_minute=shares_per_minute,
    )


def dns_tunnel(context: Context) -> Injection:
    """Data tunnelled over DNS to an outside resolver instead of Azure DNS (168.63.129.16)."""
    rng = context.rng
    victim = _compromised(context)
    resolver = str(context.external()[0])
    per_minute = context.integer(30, 300)
    start, end = context.window(context.integer(10, 120) * 60_000)
    n = per_minute * (end - start) // 60_000
    sessions = connections(
        context,
        context.world.ipv4[victim],
        resolver,
        start_ms=np.sort(rng.integers(start, end, n)),
        duration_ms=rng.integers(5, 120, n),
        dst_port=53,
        sent=(1, rng.integers(120, 255, n)),
        received=(1, rng.integers(100, 500, n)),
        protocol=UDP,
        src_vm=victim,
    )
    return label(
        context,
        "dns_tunnel",
        sessions,
        techniques=("T1071.004", "T1048.003", "T1572"),
        attackers=[resolver],
        victims=[context.world.ipv4[victim]],
        initiator="victim",
        intel=bool(rng.random() < 0.3),
        queries_per_minute=per_minute,
        minutes=(end - start) // 60_000,
    )
