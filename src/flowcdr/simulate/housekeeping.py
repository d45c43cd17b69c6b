"""What every VM does on its own, whatever its tier: platform calls, agents, time, updates.

Most of it talks to 168.63.129.16 (Azure DNS and the guest agent's WireServer) or runs on a
timer (monitoring agents every minute, NTP every 1024 s, load-balancer probes every 15 s): the
periodic, high-prevalence traffic a beaconing detection must learn to ignore.
"""

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.internet import AZURE_PLATFORM
from flowcdr.simulate.sessions import TCP, UDP, Rule, Sessions, ephemeral_ports, make_sessions
from flowcdr.simulate.topology import Tier
from flowcdr.simulate.world import World, at_random, on_timer


def _outbound(
    rng: np.random.Generator,
    world: World,
    who: np.ndarray,
    start: np.ndarray,
    *,
    servers: tuple[str, ...],
    port: int,
    sizes: tuple[int, int, int, int],
    protocol: int = TCP,
    duration_ms: tuple[int, int] = (20, 900),
) -> Sessions:
    """VMs calling public servers: (packets, bytes per packet) up and down, roughly."""
    n = len(who)
    sent = rng.integers(1, sizes[0] + 1, n)
    received = rng.integers(1, sizes[2] + 1, n)
    return make_sessions(
        n,
        start_ms=start,
        duration_ms=rng.integers(*duration_ms, n),
        src=world.ipv4[who],
        dst=np.array(servers, dtype=object)[rng.integers(0, len(servers), n)],
        src_port=ephemeral_ports(rng, n),
        dst_port=port,
        protocol=protocol,
        src_vm=who,
        packets_sent=sent,
        bytes_sent=sent * rng.integers(60, sizes[1] + 61, n),
        packets_received=received,
        bytes_received=received * rng.integers(60, sizes[3] + 61, n),
    )


def _all(world: World) -> np.ndarray:
    return np.arange(len(world.topology.vms))


def platform_dns(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    who, start = at_random(rng, _all(world), 65, hour_ms)
    return _outbound(
        rng,
        world,
        who,
        start,
        servers=(AZURE_PLATFORM,),
        port=53,
        sizes=(1, 40, 1, 200),
        protocol=UDP,
        duration_ms=(2, 60),
    )


def wire_server(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """The guest agent asking WireServer for its goal state."""
    who, start = at_random(rng, _all(world), 25, hour_ms)
    return _outbound(
        rng, world, who, start, servers=(AZURE_PLATFORM,), port=32526, sizes=(8, 300, 8, 900)
    )


def monitoring_agent(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Azure Monitor agents posting heartbeats and metrics every minute, from every VM."""
    who, start = on_timer(rng, _all(world), 60_000, 1_500, hour_ms)
    servers = internet.MONITOR_ENDPOINTS[:1]
    return _outbound(
        rng,
        world,
        who,
        start,
        servers=servers,
        port=443,
        sizes=(12, 700, 8, 200),
        protocol=TCP,
        duration_ms=(150, 900),
    )


def ntp(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    who, start = on_timer(rng, _all(world), 1_024_000, 200, hour_ms)
    return _outbound(
        rng,
        world,
        who,
        start,
        servers=internet.NTP_SERVERS,
        port=123,
        sizes=(1, 0, 1, 0),
        protocol=UDP,
        duration_ms=(5, 80),
    )


def updates(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Package and CDN checks; now and then a real download."""
    who, start = at_random(rng, _all(world), 3, hour_ms)
    servers = internet.UPDATE_SERVERS + internet.CDN_SERVERS
    return _outbound(
        rng,
        world,
        who,
        start,
        servers=servers,
        port=443,
        sizes=(30, 400, 4000, 1400),
        protocol=TCP,
        duration_ms=(300, 40000),
    )


def load_balancer_probes(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """The load balancer's health probe to every web VM, every 15 seconds."""
    who, start = on_timer(rng, world.topology.tier(Tier.WEB), 15_000, 0, hour_ms)
    n = len(who)
    return make_sessions(
        n,
        start_ms=start,
        duration_ms=rng.integers(2, 20, n),
        src=AZURE_PLATFORM,
        dst=world.ipv4[who],
        src_port=ephemeral_ports(rng, n),
        dst_port=80,
        dst_vm=who,
        rule_in=Rule.ALLOW_LOAD_BALANCER_IN,
        packets_sent=3,
        bytes_sent=rng.integers(180, 260, n),
        packets_received=2,
        bytes_received=rng.integers(200, 400, n),
    )
