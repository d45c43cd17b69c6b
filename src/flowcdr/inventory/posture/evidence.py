"""Flow evidence for the posture audit: what each NSG rule actually decided, from the flow store.

A posture finding is a statement about configuration; the flows say whether it matters. "Rule
AllowAnyRDP allows RDP from the internet" is worse when 412 internet addresses were accepted
under it yesterday, and milder when none were. A rule nobody's traffic reached in 30 days is a
candidate for removal only if the NSG's flows were being logged all that time.

Attribution of a flow to an NSG: an NSG flow log names the NSG (``resource_id``); a VNet flow
log names its VNet and the NIC (``mac``), while its ACL id is the NSG's GUID, which ARM's
listing of NSGs gives but the inventory does not keep. So a VNet flow is counted for every NSG
on its NIC and on the NIC's subnet. When both have a rule of the same name the flow counts for
both, which can only hide an unused rule, never invent one.

A flow that both an NSG flow log and a VNet flow log record (both on, as during a migration)
counts once: per rule, the larger of the two logs' counts.

Rule names: flow records write ``UserRule_<name>`` and ``DefaultRule_<name>``; ARM writes
``<name>``. Names are compared without that prefix and case-insensitively.

The hourly rollups count rules per tenant, not per NSG, so they cannot answer this; the query
reads the tenant's flows of the window once, grouped by NSG and rule.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import duckdb
import pyarrow as pa

from flowcdr.inventory.model import rid


@dataclass(frozen=True)
class NsgScope:
    """An NSG and the MACs of the NICs it filters (on the NIC itself or on its subnet)."""

    nsg_id: str
    macs: tuple[str, ...]


@dataclass(frozen=True)
class RuleTraffic:
    flows: int
    """Flows this rule decided in the whole window."""
    recent_flows: int
    """... and in the recent part of it (the last 24 hours by default)."""
    internet_sources: int
    """Distinct public source addresses accepted inbound under the rule in the recent part."""
    last_seen: dt.datetime


@dataclass(frozen=True)
class NsgTraffic:
    first_seen: dt.datetime
    last_seen: dt.datetime
    rules: Mapping[str, RuleTraffic]
    """By rule key (``rule_key``)."""


def rule_key(name: str) -> str:
    """The form in which an ARM rule name and a flow record's rule name compare equal."""
    lowered = name.strip().lower()
    for prefix in ("userrule_", "defaultrule_"):
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered


class FlowEvidence(Protocol):
    def nsg_traffic(
        self,
        tenant_id: str,
        scopes: Sequence[NsgScope],
        *,
        since: dt.datetime,
        recent: dt.datetime,
        until: dt.datetime,
    ) -> dict[str, NsgTraffic]:
        """Traffic per NSG (by ``rid``) in ``[since, until)``, recent counts from ``recent``;
        an NSG without flows in the window is absent."""
        ...


_KEY = "regexp_replace(lower(coalesce(rule, '')), '^(userrule_|defaultrule_)', '')"
# Counted per raw rule name first (a handful per NSG), and the accepted internet sources taken
# from the few recent inbound allowed flows; only those small results are renamed (``_KEY``)
# and merged: a per-row rename of millions of flows cost half the query.
_QUERY = f"""
WITH matched AS NOT MATERIALIZED (
    SELECT s.nsg, f.log_type, f.rule, f.time, f.src_ip, f.direction, f.decision, f.src_scope
    FROM flows f JOIN posture_nsgs s ON lower(f.resource_id) = s.nsg
    WHERE f.tenant_id = $tenant AND f.time >= $since AND f.time < $until AND f.log_type = 'nsg'
    UNION ALL
    SELECT s.nsg, f.log_type, f.rule, f.time, f.src_ip, f.direction, f.decision, f.src_scope
    FROM flows f JOIN posture_macs s ON f.mac = s.mac
    WHERE f.tenant_id = $tenant AND f.time >= $since AND f.time < $until AND f.log_type = 'vnet'
),
per_log AS (
    SELECT nsg, rule, log_type, count(*) AS flows,
           count(*) FILTER (WHERE time >= $recent) AS recent_flows,
           min(time) AS first_seen, max(time) AS last_seen
    FROM matched GROUP BY ALL
),
accepted AS (
    SELECT DISTINCT nsg, rule, src_ip FROM matched
    WHERE time >= $recent AND direction = 'inbound' AND decision = 'allow'
      AND src_scope = 'public'
),
keyed AS (
    SELECT nsg, {_KEY} AS key, log_type, sum(flows) AS flows,
           sum(recent_flows) AS recent_flows, min(first_seen) AS first_seen,
           max(last_seen) AS last_seen
    FROM per_log GROUP BY ALL
),
sources AS (
    SELECT nsg, {_KEY} AS key, count(DISTINCT src_ip) AS internet_sources
    FROM accepted GROUP BY ALL
)
SELECT k.nsg, k.key, max(k.flows), max(k.recent_flows),
       coalesce(any_value(s.internet_sources), 0), min(k.first_seen), max(k.last_seen)
FROM keyed k LEFT JOIN sources s ON k.nsg = s.nsg AND k.key = s.key
GROUP BY k.nsg, k.key
"""  # noqa: S608 - constants of this module; every value is a bound parameter


class DuckFlowEvidence:
    """``FlowEvidence`` over the gateway's flow store: one grouped scan of the tenant's window.

    ``connect`` gives a connection for this call's thread (``DuckFlowStore.reader``); the NSG
    and MAC lists travel as registered Arrow tables and every value as a bound parameter.
    """

    def __init__(self, connect: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self._connect = connect

    def nsg_traffic(
        self,
        tenant_id: str,
        scopes: Sequence[NsgScope],
        *,
        since: dt.datetime,
        recent: dt.datetime,
        until: dt.datetime,
    ) -> dict[str, NsgTraffic]:
        if not scopes:
            return {}
        nsgs = pa.table({"nsg": [rid(scope.nsg_id) for scope in scopes]})
        pairs = [(rid(scope.nsg_id), mac) for scope in scopes for mac in scope.macs]
        macs = pa.table(
            {"nsg": [nsg for nsg, _ in pairs], "mac": [mac for _, mac in pairs]},
            schema=pa.schema([("nsg", pa.string()), ("mac", pa.string())]),
        )
        db = self._connect()
        try:
            db.register("posture_nsgs", nsgs)
            db.register("posture_macs", macs)
            rows = db.execute(
                _QUERY,
                {"tenant": tenant_id, "since": since, "until": until, "recent": recent},
            ).fetchall()
        finally:
            db.close()
        found: dict[str, tuple[list[dt.datetime], list[dt.datetime], dict[str, RuleTraffic]]] = {}
        for nsg, rule, flows, recent_flows, sources, first, last in rows:
            firsts, lasts, rules = found.setdefault(nsg, ([], [], {}))
            firsts.append(first)
            lasts.append(last)
            if rule:
                rules[rule] = RuleTraffic(flows, recent_flows, sources, last)
        return {
            nsg: NsgTraffic(min(firsts), max(lasts), rules)
            for nsg, (firsts, lasts, rules) in found.items()
        }
