"""Benign traffic of the estate, one hour at a time, with the structure of a real one.

Each function below is one habit of a real estate, sized per VM so volumes scale with ``--vms``
(about 20,000 flow tuples per VM per day). Several are periodic on purpose (monitoring agents,
NTP, load-balancer probes): they are what a beaconing detection must not fire on. Web and
corporate traffic follow the clock: a daily peak in the afternoon (UTC), quieter weekends, and
admins only during office hours on weekdays.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.internet import AZURE_PLATFORM
from flowcdr.simulate.sessions import (
    NOT_OURS,
    TCP,
    UDP,
    Rule,
    Sessions,
    concat,
    ephemeral_ports,
    make_sessions,
)
from flowcdr.simulate.topology import Tier, Topology

HOUR_MS = 3_600_000
# Ports internet background scanners try most (Shodan/Censys-style sweeps, worms).
NOISE_PORTS = np.array([22, 23, 80, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 8443])
DB_PORTS = (1433, 5432)


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


def benign_hour(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Every benign session that starts in the hour from ``hour_ms``."""
    return concat([habit(world, rng, hour_ms) for habit in HABITS])


def _poisson(
    rng: np.random.Generator, vms: np.ndarray, per_hour: float, hour_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sessions at a random rate: which VM makes each, and when it starts."""
    counts = rng.poisson(per_hour, len(vms))
    who = np.repeat(vms, counts)
    return who, hour_ms + rng.integers(0, HOUR_MS, len(who))


def _timer(
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
    rule: Rule = Rule.ALLOW_INTERNET_OUT,
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
        rule_out=rule,
        packets_sent=sent,
        bytes_sent=sent * rng.integers(60, sizes[1] + 61, n),
        packets_received=received,
        bytes_received=received * rng.integers(60, sizes[3] + 61, n),
    )


def _all(world: World) -> np.ndarray:
    return np.arange(len(world.topology.vms))


def platform_dns(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    who, start = _poisson(rng, _all(world), 65, hour_ms)
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
    who, start = _poisson(rng, _all(world), 25, hour_ms)
    return _outbound(
        rng, world, who, start, servers=(AZURE_PLATFORM,), port=32526, sizes=(8, 300, 8, 900)
    )


def monitoring_agent(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Azure Monitor agents posting heartbeats and metrics every minute, from every VM."""
    who, start = _timer(rng, _all(world), 60_000, 1_500, hour_ms)
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
    who, start = _timer(rng, _all(world), 1_024_000, 200, hour_ms)
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
    who, start = _poisson(rng, _all(world), 3, hour_ms)
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
    who, start = _timer(rng, world.topology.tier(Tier.WEB), 15_000, 0, hour_ms)
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


def web_clients(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Internet users on the web tier (IPv6 users too where the VNet is dual-stack)."""
    web = world.topology.tier(Tier.WEB)
    who, start = _poisson(rng, web, 260 * web_load(hour_ms), hour_ms)
    n = len(who)
    v6 = (world.ipv6[who] != None) & (rng.random(n) < 0.25)  # noqa: E711 (element-wise)
    src = internet.zipf_pick(rng, world.web_clients_v4, n)
    src[v6] = internet.zipf_pick(rng, world.web_clients_v6, int(v6.sum()))
    dst = world.ipv4[who].copy()
    dst[v6] = world.ipv6[who][v6]
    sent = rng.integers(6, 40, n)
    received = (sent * rng.lognormal(1.5, 1.0, n)).astype(np.int64) + 2
    return make_sessions(
        n,
        start_ms=start,
        duration_ms=(rng.lognormal(8.5, 1.3, n)).astype(np.int64),
        src=src,
        dst=dst,
        src_port=ephemeral_ports(rng, n),
        dst_port=np.where(rng.random(n) < 0.9, 443, 80),
        dst_vm=who,
        rule_in=Rule.ALLOW_HTTPS_IN,
        packets_sent=sent,
        bytes_sent=sent * rng.integers(80, 600, n),
        packets_received=received,
        bytes_received=received * rng.integers(600, 1460, n),
    )


def _peers(rng: np.random.Generator, world: World, who: np.ndarray, tier: Tier) -> np.ndarray:
    """For each VM in ``who``, a random VM of ``tier`` in the same spoke (every spoke has all)."""
    targets = world.topology.tier(tier)
    targets = targets[np.argsort(world.spoke[targets], kind="stable")]
    spokes = world.spoke[targets]
    first = np.searchsorted(spokes, world.spoke[who], side="left")
    after = np.searchsorted(spokes, world.spoke[who], side="right")
    offset = (rng.random(len(who)) * (after - first)).astype(np.int64)
    chosen: np.ndarray = targets[first + offset]
    return chosen


def _internal(
    rng: np.random.Generator,
    world: World,
    who: np.ndarray,
    peer: np.ndarray,
    *,
    start: np.ndarray,
    port: int | np.ndarray,
    rules: tuple[Rule, Rule],
    duration_ms: np.ndarray,
    volume: float,
) -> Sessions:
    n = len(who)
    sent = (rng.integers(4, 30, n) * volume).astype(np.int64) + 1
    received = (rng.integers(4, 40, n) * volume).astype(np.int64) + 1
    return make_sessions(
        n,
        start_ms=start,
        duration_ms=duration_ms,
        src=world.ipv4[who],
        dst=world.ipv4[peer],
        src_port=ephemeral_ports(rng, n),
        dst_port=port,
        src_vm=who,
        dst_vm=peer,
        rule_out=rules[0],
        rule_in=rules[1],
        encrypted=rng.random(n) < 0.3,
        packets_sent=sent,
        bytes_sent=sent * rng.integers(100, 1400, n),
        packets_received=received,
        bytes_received=received * rng.integers(100, 1400, n),
    )


def web_to_app(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    who, start = _poisson(rng, world.topology.tier(Tier.WEB), 110 * web_load(hour_ms), hour_ms)
    peer = _peers(rng, world, who, Tier.APP)
    rules = (Rule.ALLOW_VNET_OUT, Rule.ALLOW_WEB_TO_APP)
    duration = rng.integers(20, 3_000, len(who))
    return _internal(
        rng, world, who, peer, start=start, port=8080, rules=rules, duration_ms=duration, volume=1.0
    )


def app_to_database(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Connection pools: few new connections, each held for tens of minutes."""
    who, start = _poisson(rng, world.topology.tier(Tier.APP), 10, hour_ms)
    peer = _peers(rng, world, who, Tier.DB)
    port = np.array(DB_PORTS)[world.spoke[peer] % 2]
    rules = (Rule.ALLOW_VNET_OUT, Rule.ALLOW_APP_TO_DB)
    duration = rng.exponential(1_800_000, len(who)).astype(np.int64) + 1_000
    return _internal(
        rng,
        world,
        who,
        peer,
        start=start,
        port=port,
        rules=rules,
        duration_ms=duration,
        volume=40.0,
    )


def administrators(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Admins from the corporate NAT to the jump hosts, and from there to the servers."""
    if not office_hours(hour_ms):
        return concat([])
    jump = world.topology.tier(Tier.JUMP)
    who, start = _poisson(rng, jump, 4, hour_ms)
    n = len(who)
    sent = rng.integers(2_000, 40_000, n)
    received = rng.integers(3_000, 90_000, n)
    inbound = make_sessions(
        n,
        start_ms=start,
        duration_ms=rng.integers(300_000, 5_400_000, n),
        src=world.corporate_nat[rng.integers(0, len(world.corporate_nat), n)],
        dst=world.ipv4[who],
        src_port=ephemeral_ports(rng, n),
        dst_port=np.where(rng.random(n) < 0.5, 22, 3389),
        dst_vm=who,
        rule_in=Rule.ALLOW_CORP_MANAGEMENT_IN,
        packets_sent=sent,
        bytes_sent=sent * rng.integers(70, 200, n),
        packets_received=received,
        bytes_received=received * rng.integers(100, 1200, n),
    )
    hops, hop_start = _poisson(rng, jump, 3, hour_ms)
    servers = np.arange(len(world.topology.vms))
    peer = servers[rng.integers(0, len(servers), len(hops))]
    peer_ok = peer != hops
    hops, hop_start, peer = hops[peer_ok], hop_start[peer_ok], peer[peer_ok]
    port = np.where(rng.random(len(hops)) < 0.5, 22, 3389)
    rules = (Rule.ALLOW_VNET_OUT, Rule.ALLOW_VNET_IN)
    duration = rng.integers(120_000, 2_400_000, len(hops))
    onward = _internal(
        rng,
        world,
        hops,
        peer,
        start=hop_start,
        port=port,
        rules=rules,
        duration_ms=duration,
        volume=100.0,
    )
    return concat([inbound, onward])


def backups(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Nightly database backups to Azure Storage: gigabytes out over one long connection."""
    if dt.datetime.fromtimestamp(hour_ms // 1000, dt.UTC).hour != world.backup_hour:
        return concat([])
    db = world.topology.tier(Tier.DB)
    n = len(db)
    size = rng.lognormal(21.5, 0.8, n).astype(np.int64)
    return make_sessions(
        n,
        start_ms=hour_ms + rng.integers(0, HOUR_MS, n),
        duration_ms=size // rng.integers(2_000, 20_000, n) + 60_000,
        src=world.ipv4[db],
        dst=np.array(internet.STORAGE_ENDPOINTS, dtype=object)[db % 3],
        src_port=ephemeral_ports(rng, n),
        dst_port=443,
        src_vm=db,
        packets_sent=size // 1400 + 1,
        bytes_sent=size,
        packets_received=size // 14_000 + 1,
        bytes_received=size // 14_000 * 60 + 60,
    )


def vulnerability_scan(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """The customer's own scanner: every VM, a fixed port list, once a night."""
    if dt.datetime.fromtimestamp(hour_ms // 1000, dt.UTC).hour != world.scan_hour:
        return concat([])
    scanner = world.topology.tier(Tier.SCANNER)[0]
    targets = np.array([vm.index for vm in world.topology.vms if vm.index != scanner])
    ports = NOISE_PORTS
    peer = np.repeat(targets, len(ports))
    n = len(peer)
    start = hour_ms + 600_000 + np.arange(n) * (2_400_000 // max(n, 1))
    rules = (Rule.ALLOW_VNET_OUT, Rule.ALLOW_SCANNER_IN)
    who = np.full(n, scanner)
    duration = rng.integers(1, 40, n)
    return _internal(
        rng,
        world,
        who,
        peer,
        start=start,
        port=np.tile(ports, len(targets)),
        rules=rules,
        duration_ms=duration,
        volume=0.1,
    )


def internet_noise(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Background scanning of the exposed VMs; the NSG denies all but the web ports."""
    who, start = _poisson(rng, world.topology.exposed(), 45, hour_ms)
    n = len(who)
    port = NOISE_PORTS[rng.integers(0, len(NOISE_PORTS), n)]
    web = np.isin(who, world.topology.tier(Tier.WEB)) & np.isin(port, (80, 443))
    return make_sessions(
        n,
        start_ms=start,
        duration_ms=np.where(web, rng.integers(50, 2_000, n), 0),
        src=internet.zipf_pick(rng, world.noise_sources, n),
        dst=world.ipv4[who],
        src_port=ephemeral_ports(rng, n),
        dst_port=port,
        protocol=np.where(rng.random(n) < 0.9, TCP, UDP),
        dst_vm=who,
        src_vm=NOT_OURS,
        rule_in=np.where(web, Rule.ALLOW_HTTPS_IN, Rule.DENY_ALL_IN),
        denied=~web,
        packets_sent=np.where(web, 3, 1),
        bytes_sent=np.where(web, 180, 60),
        packets_received=np.where(web, 2, 0),
        bytes_received=np.where(web, 120, 0),
    )


HABITS: tuple[Callable[[World, np.random.Generator, int], Sessions], ...] = (
    platform_dns,
    wire_server,
    monitoring_agent,
    ntp,
    updates,
    load_balancer_probes,
    web_clients,
    web_to_app,
    app_to_database,
    administrators,
    backups,
    vulnerability_scan,
    internet_noise,
)
