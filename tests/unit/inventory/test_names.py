"""Names for flows from a snapshot: by (MAC, address), MAC, public IP or unique private IP."""

import dataclasses
import random

import pyarrow as pa
import pytest

from flowcdr.formats.schema import STRING
from flowcdr.inventory.model import NetworkInterface, Snapshot, VirtualMachine
from flowcdr.inventory.names import NAME_COLUMNS, NameIndex

from .estate import SQL_MAC, WEB_MAC, arm, estate

WEB = {
    "vm": "web-01", "nic": "web-01-nic", "subnet": "web", "vnet": "vnet-prod",
    "nsg": "nsg-web", "resource_group": "rg-prod",
}  # fmt: skip
SQL = {**WEB, "vm": "sql-01", "nic": "sql-01-nic", "subnet": "db", "nsg": "nsg-db"}
NOTHING = dict.fromkeys(NAME_COLUMNS)


def lookup(index: NameIndex, macs: list[str | None] | None, ips: list[str]) -> list[dict[str, str]]:
    found = index.lookup(None if macs is None else pa.array(macs, pa.string()), pa.array(ips))
    named: list[dict[str, str]] = found.to_pylist()
    return named


def test_each_way_of_finding_a_nic() -> None:
    index = NameIndex([estate()])
    assert len(index) == 2
    assert lookup(
        index,
        [WEB_MAC, SQL_MAC, WEB_MAC, None, None, None, "000D3AFFFFFF"],
        ["10.1.1.4", "10.1.2.4", "10.9.9.9", "20.1.2.3", "10.1.2.4", "8.8.8.8", "8.8.8.8"],
    ) == [WEB, SQL, WEB, WEB, SQL, NOTHING, NOTHING]


def test_a_private_address_two_nics_share_names_nobody() -> None:
    twin_nic = arm("Microsoft.Network/networkInterfaces", "twin-nic", "rg-dev")
    twin_vm = arm("Microsoft.Compute/virtualMachines", "twin", "rg-dev")
    base = estate()
    twin = dataclasses.replace(
        base,
        subscription_id="another",
        virtual_machines=(VirtualMachine(twin_vm, "twin", "rg-dev", "westeurope", (twin_nic,)),),
        network_interfaces=(
            NetworkInterface(
                twin_nic,
                "twin-nic",
                "rg-dev",
                "westeurope",
                "000D3A0B0B0B",
                ("10.1.1.4",),
                (),
                vm_id=twin_vm,
            ),
        ),
        public_ips=(),
    )
    index = NameIndex([base, twin])
    assert lookup(index, None, ["10.1.1.4", "10.1.2.4"]) == [NOTHING, SQL]
    [named] = lookup(index, ["000D3A0B0B0B"], ["10.1.1.4"])
    assert named == {
        "vm": "twin", "nic": "twin-nic", "subnet": None, "vnet": None, "nsg": None,
        "resource_group": "rg-dev",
    }  # fmt: skip


def test_an_empty_inventory_names_nothing() -> None:
    index = NameIndex([Snapshot("s", estate().taken_at)])
    assert lookup(index, [WEB_MAC], ["10.1.1.4"]) == [NOTHING]


def flows(rows: list[tuple[str | None, str, str, str]]) -> pa.Table:
    """Flows as the store keeps them (dictionary-encoded text): (mac, direction, src, dst)."""
    columns = list(zip(*rows, strict=True))
    return pa.table({
        "mac": pa.array(columns[0], pa.string()).cast(STRING),
        "direction": pa.array(columns[1]).dictionary_encode(),
        "src_ip": pa.array(columns[2]).cast(STRING),
        "dst_ip": pa.array(columns[3]).cast(STRING),
    })  # fmt: skip


def test_annotate_names_the_logging_nic_and_the_peer() -> None:
    index = NameIndex([estate()])
    table = index.annotate(
        flows([
            (WEB_MAC, "inbound", "198.51.100.7", "10.1.1.4"),  # the internet to web-01
            (WEB_MAC, "outbound", "10.1.1.4", "10.1.2.4"),  # web-01 to sql-01
            (SQL_MAC, "inbound", "10.1.1.4", "10.1.2.4"),  # the same, logged at sql-01
            (None, "inbound", "198.51.100.7", "20.1.2.3"),  # no MAC: by the public address
        ])
    )  # fmt: skip
    named = table.select([*NAME_COLUMNS, "peer_vm"]).to_pylist()
    assert named == [
        {**WEB, "peer_vm": None},
        {**WEB, "peer_vm": "sql-01"},
        {**SQL, "peer_vm": "web-01"},
        {**WEB, "peer_vm": None},
    ]
    assert table.column_names[:4] == ["mac", "direction", "src_ip", "dst_ip"]


@pytest.mark.parametrize("size", [1, 50_000])
def test_annotate_agrees_with_a_row_by_row_lookup(size: int) -> None:
    rng = random.Random(size)
    macs = [WEB_MAC, SQL_MAC, None, "000D3AFFFFFF"]
    ips = ["10.1.1.4", "10.1.2.4", "20.1.2.3", "203.0.113.9"]
    rows = [
        (rng.choice(macs), rng.choice(("inbound", "outbound")), rng.choice(ips), rng.choice(ips))
        for _ in range(size)
    ]
    by_pair: dict[tuple[str | None, str], dict[str, str]] = {
        (WEB_MAC, "10.1.1.4"): WEB,
        (SQL_MAC, "10.1.2.4"): SQL,
    }
    by_mac = {WEB_MAC: WEB, SQL_MAC: SQL}
    by_ip = {"10.1.1.4": WEB, "10.1.2.4": SQL, "20.1.2.3": WEB}
    expected = []
    for mac, direction, src, dst in rows:
        local, remote = (dst, src) if direction == "inbound" else (src, dst)
        names = by_pair.get((mac, local)) or by_mac.get(mac or "") or by_ip.get(local) or NOTHING
        expected.append({**names, "peer_vm": by_ip.get(remote, {}).get("vm")})
    annotated = NameIndex([estate()]).annotate(flows(rows))
    assert annotated.select([*NAME_COLUMNS, "peer_vm"]).to_pylist() == expected
