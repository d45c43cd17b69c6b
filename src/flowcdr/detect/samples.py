"""Sample flows for findings' evidence (design.md section 6: "the numbers that made it fire and
sample flows").

Rules return aggregates; the flows behind a finding are fetched afterwards, a few per finding,
in one query per key shape: findings naming both ends join the flows on (source, destination),
those naming one end join on it. Equality joins keep this a hash join whatever the number of
findings; the time range and port then filter. Findings naming neither end (hygiene insights
per resource) get no samples.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import duckdb
import pyarrow as pa

from flowcdr.detect.finding import Finding, iso

SAMPLE_COLUMNS = (
    "time", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "direction", "decision",
    "state", "src_bytes", "dst_bytes", "rule",
)  # fmt: skip
_SHAPES = {
    "both": "k.src_ip = f.src_ip AND k.dst_ip = f.dst_ip",
    "source": "k.src_ip = f.src_ip",
    "destination": "k.dst_ip = f.dst_ip",
}


def _shape(finding: Finding) -> str | None:
    if finding.src_ip and finding.dst_ip:
        return "both"
    if finding.src_ip:
        return "source"
    if finding.dst_ip:
        return "destination"
    return None


def with_samples(
    db: duckdb.DuckDBPyConnection, tenant_id: str, findings: Sequence[Finding], per_finding: int = 3
) -> list[Finding]:
    """The findings, each with ``evidence["samples"]``: its first flows (at most
    ``per_finding``) between first_seen and last_seen, on its port when it names one."""
    samples: dict[int, list[dict[str, Any]]] = {}
    for shape, condition in _SHAPES.items():
        chosen = [i for i, f in enumerate(findings) if _shape(f) == shape]
        if chosen:
            samples.update(
                _fetch(
                    db, tenant_id, findings, chosen, condition=condition, per_finding=per_finding
                )
            )
    return [
        replace(f, evidence={**f.evidence, "samples": samples.get(i, [])})
        if _shape(f) is not None
        else f
        for i, f in enumerate(findings)
    ]


def _fetch(
    db: duckdb.DuckDBPyConnection,
    tenant_id: str,
    findings: Sequence[Finding],
    chosen: list[int],
    *,
    condition: str,
    per_finding: int,
) -> dict[int, list[dict[str, Any]]]:
    keys = pa.table(
        {
            "idx": pa.array(chosen, pa.int64()),
            "src_ip": pa.array([findings[i].src_ip for i in chosen], pa.string()),
            "dst_ip": pa.array([findings[i].dst_ip for i in chosen], pa.string()),
            "dst_port": pa.array([findings[i].dst_port for i in chosen], pa.int32()),
            "first_seen": pa.array(
                [findings[i].first_seen for i in chosen], pa.timestamp("us", "UTC")
            ),
            "last_seen": pa.array(
                [findings[i].last_seen for i in chosen], pa.timestamp("us", "UTC")
            ),
        }
    )
    db.register("finding_keys", keys)
    try:
        columns = ", ".join(f"f.{name}" for name in SAMPLE_COLUMNS)
        rows = db.execute(
            f"SELECT k.idx, {columns} FROM flows AS f JOIN finding_keys AS k ON {condition} "  # noqa: S608 - fixed text
            "WHERE f.tenant_id = ? AND f.time BETWEEN k.first_seen AND k.last_seen "
            "AND (k.dst_port IS NULL OR f.dst_port = k.dst_port) "
            "QUALIFY row_number() OVER (PARTITION BY k.idx ORDER BY f.time, f.src_port) <= ? "
            "ORDER BY k.idx, f.time, f.src_port",
            [tenant_id, per_finding],
        ).fetchall()
    finally:
        db.unregister("finding_keys")
    found: dict[int, list[dict[str, Any]]] = {}
    for idx, *values in rows:
        sample = dict(zip(SAMPLE_COLUMNS, values, strict=True))
        sample = {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in sample.items()}
        found.setdefault(int(idx), []).append(sample)
    return found
