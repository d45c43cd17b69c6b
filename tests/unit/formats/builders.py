"""Build flow-log records and blobs the way Azure writes them, for tests."""

import json
from collections.abc import Sequence
from typing import Any

SUB = "AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E"
NSG_ID = (
    f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.NETWORK/"
    "NETWORKSECURITYGROUPS/WEB-NSG"
)
VNET_TARGET = (
    f"/subscriptions/{SUB.lower()}/resourceGroups/Prod-RG/providers/Microsoft.Network/"
    "virtualNetworks/prod-vnet"
)
FLOWLOG_ID = (
    f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/"
    "NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/VNETFLOWLOG"
)


def nsg_record(
    rules: dict[str, dict[str, Sequence[str]]], version: float = 2, resource: str = NSG_ID
) -> dict[str, Any]:
    """An NSG record: rule name -> MAC -> tuple strings."""
    return {
        "time": "2018-11-13T12:00:35.3899262Z",
        "systemId": "a0fca5ce-022c-47b1-9735-89943b42f2fa",
        "macAddress": "000D3AF87856",
        "category": "NetworkSecurityGroupFlowEvent",
        "resourceId": resource,
        "operationName": "NetworkSecurityGroupFlowEvents",
        "properties": {
            "Version": version,
            "flows": [
                {
                    "rule": rule,
                    "flows": [{"mac": mac, "flowTuples": list(t)} for mac, t in macs.items()],
                }
                for rule, macs in rules.items()
            ],
        },
    }


def vnet_record(
    acls: dict[str, dict[str, Sequence[str]]],
    mac: str = "00224871C205",
    target: str | None = VNET_TARGET,
) -> dict[str, Any]:
    """A VNet record: acl id -> rule name -> tuple strings."""
    record: dict[str, Any] = {
        "time": "2022-09-14T09:00:52.5625085Z",
        "flowLogVersion": 4,
        "flowLogGUID": "66aa66aa-bb77-cc88-dd99-00ee00ee00ee",
        "macAddress": mac,
        "category": "FlowLogFlowEvent",
        "flowLogResourceID": FLOWLOG_ID,
        "operationName": "FlowLogFlowEvent",
        "flowRecords": {
            "flows": [
                {
                    "aclID": acl,
                    "flowGroups": [{"rule": r, "flowTuples": list(t)} for r, t in rules.items()],
                }
                for acl, rules in acls.items()
            ]
        },
    }
    if target is not None:
        record["targetResourceID"] = target
    return record


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def blob(records: Sequence[dict[str, Any]]) -> bytes:
    """A whole blob, byte for byte as Azure writes it."""
    return b'{"records":[' + b",".join(compact(r) for r in records) + b"]}"


def pretty(records: Sequence[dict[str, Any]]) -> bytes:
    """The same blob indented: valid JSON the fast path must refuse and hand over."""
    return json.dumps({"records": list(records)}, indent="\t").encode()


def fragment(records: Sequence[dict[str, Any]], leading_comma: bool = True) -> bytes:
    """Record blocks as an incremental reader downloads them (no envelope)."""
    body = b",".join(compact(r) for r in records)
    return b"," + body if leading_comma else body
