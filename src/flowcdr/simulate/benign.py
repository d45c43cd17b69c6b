"""Benign traffic of the estate, one hour at a time, with the structure of a real one.

Each habit is sized per VM so volumes scale with ``--vms`` (about 19,000 flow tuples per VM per
day). The VMs' own chores are in ``housekeeping``; here are the tiers' jobs (web clients, app to
database pools, admins via jump hosts, backups, the customer's scanner) and the internet's
background scanning. Several are periodic on purpose (monitoring agents,
NTP, load-balancer probes): they are what a beaconing detection must not fire on. Web and
corporate traffic follow the clock: a daily peak in the afternoon (UTC), quieter weekends, and
admins only during office hours on weekdays.
"""

import datetime as dt
from collections.abc import Callable

import numpy as np

from flowcdr.simulate import internet
from flowcdr.simulate.housekeeping import (
    load_balancer_probes,
    monitoring_agent,
    ntp,
    platform_dns,
    updates,
    wire_server,
)
from flowcdr.simulate.sessions import (
    TCP,
    UDP,
    Rule,
    Sessions,
    concat,
    ephemeral_ports,
    make_sessions,
)
from flowcdr.simulate.topology import Tier
from flowcdr.simulate.world import HOUR_MS, World, at_random, office_hours, web_load

# Ports internet background scanners try most (Shodan/Censys-style sweeps, worms).
NOISE_PORTS = np.array([22, 23, 80, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 8443])
DB_PORTS = (1433, 5432)


def benign_hour(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Every benign session that starts in the hour from ``hour_ms``."""
    return concat([habit(world, rng, hour_ms) for habit in HABITS])


def web_clients(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Internet users on the web tier (IPv6 users too where the VNet is dual-stack)."""
    web = world.topology.tier(Tier.WEB)
    who, start = at_random(rng, web, 260 * web_load(hour_ms), hour_ms)
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
    who, start = at_random(rng, world.topology.tier(Tier.WEB), 110 * web_load(hour_ms), hour_ms)
    peer = _peers(rng, world, who, Tier.APP)
    rules = (Rule.ALLOW_VNET_OUT, Rule.ALLOW_WEB_TO_APP)
    duration = rng.integers(20, 3_000, len(who))
    return _internal(
        rng, world, who, peer, start=start, port=8080, rules=rules, duration_ms=duration, volume=1.0
    )


def app_to_database(world: World, rng: np.random.Generator, hour_ms: int) -> Sessions:
    """Connection pools: few new connections, each held for tens of minutes."""
    who, start = at_random(rng, world.topology.tier(Tier.APP), 10, hour_ms)
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
    who, start = at_random(rng, jump, 4, hour_ms)
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
    hops, hop_start = at_random(rng, jump, 3, hour_ms)
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
    """Nightly database backups to Azure Storage: gigabytes out over one long connection.

    Throttled to 20-90 minutes, as backup agents do to spare the database; to an upload
    detection they look like exfiltration, except that every database VM does it, every night,
    to Azure's own storage front ends.
    """
    if dt.datetime.fromtimestamp(hour_ms // 1000, dt.UTC).hour != world.backup_hour:
        return concat([])
    db = world.topology.tier(Tier.DB)
    n = len(db)
    size = rng.lognormal(21.5, 0.8, n).astype(np.int64)
    return make_sessions(
        n,
        start_ms=hour_ms + rng.integers(0, HOUR_MS, n),
        duration_ms=rng.integers(20 * 60_000, 90 * 60_000, n),
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
    who, start = at_random(rng, world.topology.exposed(), 45, hour_ms)
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
