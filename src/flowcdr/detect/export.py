"""Findings as other tools read them: our own NDJSON, OCSF Detection Finding, and ECS.

- ``ndjson``: ``Finding.as_dict``, design.md's field names, one object per line.
- ``ocsf``: OCSF 1.1 Detection Finding (class 2004, category Findings): what AWS Security Lake
  and most SIEM OCSF pipelines take. ATT&CK goes in ``finding_info.attacks``, our evidence in
  ``unmapped``.
- ``ecs``: Elastic Common Schema 8 alert documents (``event.kind: alert``), with ``threat.*``
  for ATT&CK and ``flowcdr.*`` for what ECS has no field for.
"""

import datetime as dt
import functools
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any, Literal

from flowcdr.detect.finding import Finding, iso

ExportFormat = Literal["ndjson", "ocsf", "ecs"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("ndjson", "ocsf", "ecs")

_OCSF_SEVERITY = {"low": 2, "medium": 3, "high": 4, "critical": 5}
_OCSF_STATUS = {"open": 1, "acknowledged": 2, "suppressed": 3, "resolved": 4}
_ECS_SEVERITY = {"low": 21, "medium": 47, "high": 73, "critical": 99}
"""ECS ``event.severity`` as Elastic's detection rules number them."""


@functools.cache
def _product() -> dict[str, str]:
    """Read once: the installed version does not change while the process runs."""
    return {"name": "flowcdr", "vendor_name": "flowcdr", "version": version("flowcdr")}


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def to_ocsf(finding: Finding) -> dict[str, Any]:
    attacks = [{"tactic": {"uid": tactic}} for tactic in finding.tactics]
    attacks += [{"technique": {"uid": technique}} for technique in finding.techniques]
    status = finding.status
    return {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "type_uid": 200401,
        "time": _millis(finding.last_seen),
        "severity_id": _OCSF_SEVERITY[finding.severity],
        "severity": finding.severity.capitalize(),
        "status_id": _OCSF_STATUS[status],
        "status": status.capitalize(),
        "count": finding.flow_count,
        "metadata": {
            "version": "1.1.0",
            "product": _product(),
            "uid": finding.id,
        },
        "finding_info": {
            "uid": finding.id,
            "title": finding.title,
            "first_seen_time": _millis(finding.first_seen),
            "last_seen_time": _millis(finding.last_seen),
            "analytic": {
                "uid": finding.rule_id,
                "name": finding.title,
                "type_id": 1,
                "type": "Rule",
            },
            "attacks": attacks,
        },
        "evidences": [
            {
                "src_endpoint": {"ip": finding.src_ip},
                "dst_endpoint": {"ip": finding.dst_ip, "port": finding.dst_port},
                "connection_info": {"protocol_num": finding.protocol},
            }
        ],
        "cloud": {"provider": "Azure", "account": {"uid": finding.subscription_id}},
        "resources": [{"uid": finding.resource_id}],
        "unmapped": {"bytes": finding.bytes, "evidence": finding.evidence},
    }


def to_ecs(finding: Finding) -> dict[str, Any]:
    return {
        "@timestamp": iso(finding.last_seen),
        "event": {
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["info"],
            "id": finding.id,
            "start": iso(finding.first_seen),
            "end": iso(finding.last_seen),
            "severity": _ECS_SEVERITY[finding.severity],
            "dataset": "flowcdr.finding",
        },
        "rule": {"id": finding.rule_id, "name": finding.title},
        "threat": {
            "framework": "MITRE ATT&CK",
            "tactic": {"id": list(finding.tactics)},
            "technique": {"id": list(finding.techniques)},
        },
        "source": {"ip": finding.src_ip},
        "destination": {"ip": finding.dst_ip, "port": finding.dst_port},
        "network": {"iana_number": None if finding.protocol is None else str(finding.protocol)},
        "cloud": {"provider": "azure", "account": {"id": finding.subscription_id}},
        "flowcdr": {
            "status": finding.status,
            "resource_id": finding.resource_id,
            "flow_count": finding.flow_count,
            "bytes": finding.bytes,
            "evidence": finding.evidence,
            "dedup_key": finding.dedup_key,
        },
    }


_SHAPES: dict[ExportFormat, Callable[[Finding], dict[str, Any]]] = {
    "ndjson": Finding.as_dict,
    "ocsf": to_ocsf,
    "ecs": to_ecs,
}


def export_line(finding: Finding, kind: ExportFormat) -> str:
    """One finding as one NDJSON line (with its newline) in the chosen shape."""
    return json.dumps(_SHAPES[kind](finding), separators=(",", ":"), default=str) + "\n"
