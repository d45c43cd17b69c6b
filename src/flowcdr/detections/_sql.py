"""SQL pieces several rules share, so that "external", "a connection" or "a probe" mean one
thing across the catalogue. Every piece is plain SQL over the columns of ``f`` (see
``flowcdr.detect.rule``) in the subset DuckDB and ClickHouse both accept.
"""

from flowcdr.detect.dialect import Sql

INBOUND_FROM_INTERNET = "src_scope = 'public' AND dst_scope = 'private'"
TO_INTERNET = "src_scope = 'private' AND dst_scope = 'public'"
EAST_WEST = "src_scope = 'private' AND dst_scope = 'private'"
ALLOWED = "decision = 'allow'"
PACKETS = "(coalesce(src_packets, 0) + coalesce(dst_packets, 0))"
BYTES = "(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0))"
NO_PORT = "CAST(NULL AS INTEGER) AS dst_port"
NO_DST = "CAST(NULL AS VARCHAR) AS dst_ip"
NO_SRC = "CAST(NULL AS VARCHAR) AS src_ip"

SENSITIVE_PORTS = (21, 22, 23, 53, 88, 139, 389, 445, 1433, 3306, 3389, 5900, 5985, 5986, 9389)
"""Ports whose probing says intent more than a count does (Elastic's scan rule's set, plus the
data stores of the exposure rules)."""


def context(d: Sql) -> str:
    """The finding columns every grouped query reports the same way."""
    return (
        f"{d.any_value('resource_id')} AS resource_id, "
        f"{d.any_value('subscription_id')} AS subscription_id, "
        "min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count, "
        f"sum({BYTES}) AS bytes"
    )


def vertical_scan(d: Sql, sources: str) -> str:
    """One source probing many ports of one host within a window.

    A port counts as probed when no flow to it exchanged more than a handshake (at most five
    packets both ways, the SYN / SYN-ACK / RST of a probe, or a denial): a client that really
    talks to many ports (passive FTP, RTP) carries data on them and is not a scan. Pairs with
    fewer flows, or a narrower port range, than the lower threshold cannot have that many
    ports, so cheap aggregates drop them before ports are counted.
    """
    least = f"least({d.param('min_ports')}, {d.param('min_sensitive_ports')})"
    return f"""
WITH pairs AS (
    SELECT bucket, src_ip, dst_ip FROM f WHERE {sources}
    GROUP BY bucket, src_ip, dst_ip
    HAVING count(*) >= {least} AND max(dst_port) - min(dst_port) >= {least} - 1
),
ports AS (
    SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol, {context(d)},
           max({PACKETS}) > 5 AS answered,
           max(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END) AS denied
    FROM f JOIN pairs USING (bucket, src_ip, dst_ip)
    WHERE {sources}
    GROUP BY bucket, src_ip, dst_ip, dst_port
)
SELECT bucket, src_ip, dst_ip, {NO_PORT}, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(flow_count) AS flow_count, sum(bytes) AS bytes,
       {d.count_if("NOT answered")} AS probed_ports,
       {d.count_if("NOT answered AND " + d.in_list("dst_port", "sensitive_ports"))}
           AS sensitive_ports,
       {d.count_if("denied = 1")} AS denied_ports,
       min(dst_port) AS lowest_port, max(dst_port) AS highest_port
FROM ports
GROUP BY bucket, src_ip, dst_ip
HAVING probed_ports >= {d.param("min_ports")}
    OR sensitive_ports >= {d.param("min_sensitive_ports")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def horizontal_sweep(d: Sql, sources: str) -> str:
    """One source touching one port on many hosts within a window; one row per source and
    window, however many ports it swept (naming the port when there is one). A cheap count
    first drops the (source, port) pairs with fewer flows than the threshold has hosts."""
    where = f"{sources} AND NOT {d.in_list('dst_port', 'ignored_ports')}"
    return f"""
WITH pairs AS (
    SELECT bucket, src_ip, dst_port FROM f WHERE {where}
    GROUP BY bucket, src_ip, dst_port
    HAVING count(*) >= {d.param("min_hosts")}
),
ports AS (
    SELECT bucket, src_ip, dst_port, min(protocol) AS protocol, {context(d)},
           {d.count_distinct("dst_ip")} AS hosts,
           {d.count_distinct("dst_ip", "decision = 'deny'")} AS denied_hosts,
           {d.count_distinct("dst_ip", f"{PACKETS} > 5")} AS answering_hosts
    FROM f JOIN pairs USING (bucket, src_ip, dst_port)
    WHERE {where}
    GROUP BY bucket, src_ip, dst_port
    HAVING hosts >= {d.param("min_hosts")}
)
SELECT bucket, src_ip, {NO_DST},
       CASE WHEN count(*) = 1 THEN min(dst_port) END AS dst_port, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(flow_count) AS flow_count, sum(bytes) AS bytes,
       count(*) AS ports_swept, min(dst_port) AS lowest_port, max(hosts) AS hosts,
       max(denied_hosts) AS denied_hosts, max(answering_hosts) AS answering_hosts
FROM ports
GROUP BY bucket, src_ip
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def connections(
    d: Sql,
    where: str,
    keys: tuple[str, ...] = ("src_ip", "dst_ip", "dst_port"),
    at_least: str = "1",
) -> str:
    """One row per connection (a 5-tuple within a window): its begin, end, packets, bytes.

    Flow-log counters of ``continue`` and ``end`` tuples are deltas, so sums are totals; a
    connection's duration is the span of its tuples. Grouping by 5-tuple is the costly step,
    so only groups of ``keys`` with ``at_least`` flows (a cheap count) are expanded: a rule
    that needs N connections per key cannot fire with fewer than N flows.
    """
    joined = ", ".join(keys)
    return f"""
candidates AS (
    SELECT bucket, {joined} FROM f WHERE {where}
    GROUP BY bucket, {joined} HAVING count(*) >= {at_least}
),
conns AS (
    SELECT bucket, src_ip, dst_ip, dst_port, src_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(time) AS started, max(time) AS ended, count(*) AS flows,
           sum({PACKETS}) AS packets, sum({BYTES}) AS bytes,
           sum(coalesce(src_bytes, 0)) AS sent, sum(coalesce(dst_bytes, 0)) AS received,
           count(src_bytes) AS counted,
           max(CASE WHEN decision = 'allow' THEN 1 ELSE 0 END) AS allowed
    FROM f JOIN candidates USING (bucket, {joined})
    WHERE {where}
    GROUP BY bucket, src_ip, dst_ip, dst_port, src_port
)"""  # noqa: S608 - rule SQL is code


def brute_force(d: Sql, where: str) -> str:
    """Many short, similar, allowed connections from one source to one service.

    Guessing a password is a connection per try (or a few tries), each a small exchange of
    nearly the same size; automation and real sessions move more data, in varied amounts. An
    NSG v1 log has no counters: there only the count of connections speaks.
    """
    return f"""
WITH {connections(d, where, at_least=d.param("min_attempts")).strip()}
SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(started) AS first_seen, max(ended) AS last_seen, sum(flows) AS flow_count,
       sum(bytes) AS bytes, count(*) AS attempts,
       {d.quantile("bytes", 0.5)} AS median_attempt_bytes,
       {d.quantile("bytes", 0.75)} - {d.quantile("bytes", 0.25)} AS attempt_bytes_iqr
FROM conns
WHERE allowed = 1
GROUP BY bucket, src_ip, dst_ip, dst_port
HAVING attempts >= {d.param("min_attempts")}
   AND median_attempt_bytes <= {d.param("max_attempt_bytes")}
   AND attempt_bytes_iqr <= {d.param("max_size_spread")} * greatest(median_attempt_bytes, 1)
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


EXPOSURE_LOOKBACK_SECONDS = 7 * 86_400
FAMILIAR_AFTER_SECONDS = 12 * 3600
"""A source a port answered at least this long before (and within the lookback) is one of its
regulars: yesterday's administrators are, the first hour of a stranger's visit is not. A week
covers the working week's rhythm (Monday's admins were there last Friday); every run reads it,
so a longer lookback costs every evaluation of the exposure rules."""


def exposed(d: Sql) -> str:
    """Internet traffic that a VM's port accepted and answered, per (VM, port), in windows
    where it answered a source that is not one of the port's regulars.

    A denied flow or an unanswered one proves nothing is listening. A port only its regular
    sources reach (the office's NAT addresses on a jump host, a partner's server on a
    database) is restricted access; a port answering strangers is exposed. The regulars are
    read from the week of flows before (the flow store is the baseline, as for
    ``new_exposed_port``, so offline and streaming runs agree). With no history yet every
    source is a stranger, so a new deployment reports its exposed ports once.
    """
    reached = f"""{INBOUND_FROM_INTERNET} AND {ALLOWED} AND {d.in_list("dst_port", "ports")}
      AND coalesce(dst_packets, 0) > 0"""
    bucket, seen = d.epoch("r.bucket"), d.epoch("h.time")
    return f"""
WITH reached AS (
    SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol, {context(d)},
           {d.any_value("rule")} AS rule
    FROM f WHERE {reached}
    GROUP BY bucket, src_ip, dst_ip, dst_port
),
regulars AS (
    SELECT DISTINCT r.bucket AS bucket, r.src_ip AS src_ip, r.dst_ip AS dst_ip,
           r.dst_port AS dst_port, 1 AS regular
    FROM reached AS r
    JOIN (SELECT src_ip, dst_ip, dst_port, time
          FROM {d.history(EXPOSURE_LOOKBACK_SECONDS, 3600)} AS past WHERE {reached}) AS h
      ON h.src_ip = r.src_ip AND h.dst_ip = r.dst_ip AND h.dst_port = r.dst_port
    WHERE {seen} < {bucket} - {FAMILIAR_AFTER_SECONDS}
      AND {seen} >= {bucket} - {EXPOSURE_LOOKBACK_SECONDS}
),
marked AS (
    SELECT reached.*, coalesce(regulars.regular, 0) AS regular
    FROM reached LEFT JOIN regulars
      ON regulars.bucket = reached.bucket AND regulars.src_ip = reached.src_ip
     AND regulars.dst_ip = reached.dst_ip AND regulars.dst_port = reached.dst_port
)
SELECT bucket, {NO_SRC}, dst_ip, dst_port, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(flow_count) AS flow_count, sum(bytes) AS bytes,
       count(*) AS sources, {d.count_if("regular = 0")} AS new_sources,
       {d.any_value("rule")} AS rule,
       min(CASE WHEN regular = 0 THEN src_ip END) AS sample_source
FROM marked
GROUP BY bucket, dst_ip, dst_port
HAVING new_sources > 0
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def outbound_sessions(d: Sql, where: str, extra: str = "") -> str:
    """Allowed, answered sessions from our VMs to the internet, per (VM, host, port), where
    the source port is not one of the watched ports (a reply on an ephemeral port that
    happens to be 4444 is not a session to port 4444). ``extra`` adds output columns."""
    return f"""
SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol, {context(d)},
       sum(coalesce(src_bytes, 0)) AS bytes_sent, sum(coalesce(dst_bytes, 0)) AS bytes_received,
       {d.count_distinct("src_port")} AS connections{extra}
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND coalesce(dst_packets, 0) > 0
  AND NOT {d.in_list("src_port", "ports")} AND ({where})
GROUP BY bucket, src_ip, dst_ip, dst_port
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters
