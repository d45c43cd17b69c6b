"""The flows page names a flow's VMs, NIC, subnet, VNet and NSGs from the tenant's inventory."""

import dataclasses
import datetime as dt
from typing import Any

from flowcdr.inventory.model import NetworkInterface, Snapshot
from flowcdr.store import flowquery as fq

from ..inventory.estate import WEB_NIC, estate
from .conftest import Portal, window

SEEDED_MAC = "000D3AF87856"  # every seeded flow's MAC (tests/unit/store/test_flowquery.py)


def inventory_of_the_seeded_nic() -> Snapshot:
    """The estate, with web-01's NIC given the seeded flows' MAC and one of their addresses."""
    snapshot = estate()
    nics = tuple(
        dataclasses.replace(nic, mac=SEEDED_MAC, private_ips=("10.0.0.4",))
        if nic.id == WEB_NIC
        else nic
        for nic in snapshot.network_interfaces
    )
    assert all(isinstance(nic, NetworkInterface) for nic in nics)
    return dataclasses.replace(snapshot, network_interfaces=nics)


def test_flows_show_the_vm_names_the_inventory_knows(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    client = portal.as_user("amy")
    before = client.get("/portal/flows", params=window(dst="10.0.0.4", direction="inbound")).text
    assert "web-01" not in before  # no inventory yet: addresses only

    services.inventory.record(portal.tenant_id, inventory_of_the_seeded_nic())
    page = client.get("/portal/flows", params=window(dst="10.0.0.4", direction="inbound")).text
    assert '<div class="small vm">web-01</div>' in page
    assert "NIC <strong>web-01-nic</strong> · subnet <strong>web</strong>" in page
    assert "VNet <strong>vnet-prod</strong> · NSG <strong>nsg-web</strong>" in page


def test_another_tenants_inventory_names_nothing(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    bob = services.store.user("bob").tenant_id
    services.inventory.record(bob, inventory_of_the_seeded_nic())
    page = portal.as_user("amy").get("/portal/flows", params=window()).text
    assert "web-01" not in page


def rows_at(services: Any, tenant_id: str, **where: Any) -> set[tuple[str, str, str]]:
    """(time, src, dst) of every seeded flow in the window matching ``where``, from the store."""
    start, end = (
        dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 13, tzinfo=dt.UTC),
    )
    reader = services.flows.reader()
    try:
        page = fq.flows(reader, tenant_id, fq.FlowFilter(start, end, **where), limit=fq.PAGE_MAX)
    finally:
        reader.close()
    return {(str(i["time"]), str(i["src_ip"]), str(i["dst_ip"])) for i in page.items}


def test_the_vm_filter_shows_a_vms_traffic_both_ways(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    client = portal.as_user("amy")
    refused = client.get("/portal/flows", params=window(vm="web-01"))
    assert "no Azure inventory to look up a VM named &#39;web-01&#39;" in refused.text

    services.inventory.record(portal.tenant_id, inventory_of_the_seeded_nic())
    web = fq.parse_network("10.0.0.4", "src")
    expected = rows_at(services, portal.tenant_id, src=web) | rows_at(
        services, portal.tenant_id, dst=web
    )
    everything = rows_at(services, portal.tenant_id)
    assert 0 < len(expected) < min(len(everything), 50), "10.0.0.4 should be in a few flows"
    page = client.get("/portal/flows", params=window(vm="WEB-01")).text  # names ignore case
    shown = page.count('<tr class="flow-row"')
    assert shown == len(expected)
    unknown = client.get("/portal/flows", params=window(vm="db-09")).text
    assert "no VM named &#39;db-09&#39;" in unknown


def test_findings_name_the_assets_at_their_ends(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    listed = portal.client.get("/cdr/v1/findings", headers=portal.gateway.bearer("alice")).json()
    finding = next(item for item in listed["items"] if item["dst_ip"])
    assert finding["assets"] == {"src": None, "dst": None}  # no inventory yet

    snapshot = inventory_of_the_seeded_nic()
    nics = tuple(
        dataclasses.replace(nic, private_ips=(finding["dst_ip"],)) if nic.id == WEB_NIC else nic
        for nic in snapshot.network_interfaces
    )
    services.inventory.record(
        portal.tenant_id, dataclasses.replace(snapshot, network_interfaces=nics)
    )
    path = f"/cdr/v1/findings/{finding['id']}"
    shown = portal.client.get(path, headers=portal.gateway.bearer("alice")).json()
    assert shown["assets"]["dst"]["vm"] == "web-01"
    assert shown["assets"]["dst"]["nsg"] == "nsg-web"
    assert shown["assets"]["src"] is None or shown["assets"]["src"].get("vm") != "web-01"

    page = portal.as_user("amy").get(f"/portal/findings/{finding['id']}").text
    assert "<dt>Destination asset</dt><dd>VM <strong>web-01</strong>" in page
