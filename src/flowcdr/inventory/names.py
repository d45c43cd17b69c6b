"""Names people recognise for a flow's ends: VM, NIC, subnet, VNet, NSGs and resource group.

A flow record carries the MAC of the NIC that logged it and two addresses. ``NameIndex`` is
built once from the snapshots of a tenant's subscriptions (the ones valid at the flows' time:
the caller picks them) and answers a whole Arrow batch at once: every lookup is a hash lookup
of a column against a small value set (``pyarrow.compute.index_in``) and a ``take``, never a
Python loop per flow.

A flow's end is found, in order, by its (MAC, address) pair, by its MAC alone (a MAC names
one NIC), then by its address: a public IP names its NIC, a private IP only when exactly one
NIC in the snapshots has it (VNets may reuse address space, and a guess would be worse than
no name).
"""

from collections import Counter
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.inventory.model import Snapshot, rid

NAME_COLUMNS = ("vm", "nic", "subnet", "vnet", "nsg", "resource_group")
_SEPARATOR = "|"


def _text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    kind = column.type
    return column.cast(kind.value_type) if pa.types.is_dictionary(kind) else column


class NameIndex:
    """One row of names per NIC, and the keys that lead to it."""

    def __init__(self, snapshots: Iterable[Snapshot]) -> None:
        rows: list[dict[str, str | None]] = []
        pairs: dict[str, int] = {}
        macs: dict[str, int] = {}
        addresses: dict[str, int] = {}
        private: Counter[str] = Counter()
        for snapshot in snapshots:
            vms = {rid(vm.id): vm for vm in snapshot.virtual_machines}
            subnets = {rid(subnet.id): subnet for subnet in snapshot.subnets}
            vnets = {rid(vnet.id): vnet for vnet in snapshot.virtual_networks}
            nsgs = {rid(nsg.id): nsg.name for nsg in snapshot.security_groups}
            publics = {rid(ip.id): ip.ip_address for ip in snapshot.public_ips}
            for nic in snapshot.network_interfaces:
                vm = vms.get(rid(nic.vm_id or ""))
                subnet = next((subnets[rid(s)] for s in nic.subnet_ids if rid(s) in subnets), None)
                vnet = vnets.get(rid(subnet.vnet_id)) if subnet else None
                guarding = [nic.nsg_id, subnet.nsg_id if subnet else None]
                nsg_names = [nsgs.get(rid(n), n.rsplit("/", 1)[-1]) for n in guarding if n]
                row = len(rows)
                rows.append({
                    "vm": vm.name if vm else None,
                    "nic": nic.name,
                    "subnet": subnet.name if subnet else None,
                    "vnet": vnet.name if vnet else None,
                    "nsg": ", ".join(nsg_names) or None,
                    "resource_group": vm.resource_group if vm else nic.resource_group,
                })  # fmt: skip
                if nic.mac:
                    macs[nic.mac] = row
                    for ip in nic.private_ips:
                        pairs[f"{nic.mac}{_SEPARATOR}{ip}"] = row
                for ip in nic.private_ips:
                    private[ip] += 1
                    addresses[ip] = row
                for ip_id in nic.public_ip_ids:
                    if publics.get(rid(ip_id)):
                        addresses[str(publics[rid(ip_id)])] = row
                for public in snapshot.public_ips:  # an address may name its NIC only itself
                    owner = rid(public.ip_configuration_id or "")
                    if public.ip_address and owner.startswith(rid(nic.id) + "/"):
                        addresses[public.ip_address] = row
        for ip, count in private.items():
            if count > 1:
                addresses.pop(ip, None)  # reused private space: no guess
        self._names = pa.table(
            {name: pa.array([row[name] for row in rows], pa.string()) for name in NAME_COLUMNS}
        )
        self._keys = {
            kind: (pa.array(list(found), pa.string()), pa.array(list(found.values()), pa.int64()))
            for kind, found in (("pair", pairs), ("mac", macs), ("address", addresses))
        }

    def __len__(self) -> int:
        return int(self._names.num_rows)

    def _rows(self, kind: str, keys: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        values, rows = self._keys[kind]
        return pc.take(rows, pc.index_in(keys, value_set=values))

    def lookup(
        self,
        macs: pa.Array | pa.ChunkedArray | None,
        addresses: pa.Array | pa.ChunkedArray,
    ) -> pa.Table:
        """``NAME_COLUMNS`` for each (MAC, address); null where nothing is known."""
        addresses = _text(addresses)
        found = [self._rows("address", addresses)]
        if macs is not None:
            macs = _text(macs)
            pair = pc.binary_join_element_wise(macs, addresses, _SEPARATOR)
            found = [self._rows("pair", pair), self._rows("mac", macs), *found]
        rows = pc.coalesce(*found) if len(found) > 1 else found[0]
        return self._names.take(rows)

    def annotate(self, flows: pa.Table) -> pa.Table:
        """``flows`` with the names of the NIC that logged each flow (its end of the flow: the
        destination of an inbound flow, the source of an outbound one) and ``peer_vm``, the
        other end's VM where one is known."""
        inbound = pc.equal(_text(flows["direction"]), "inbound")
        src, dst = _text(flows["src_ip"]), _text(flows["dst_ip"])
        local = pc.if_else(inbound, dst, src)
        remote = pc.if_else(inbound, src, dst)
        names = self.lookup(flows["mac"], local)
        for name in NAME_COLUMNS:
            flows = flows.append_column(name, names[name])
        return flows.append_column("peer_vm", self.lookup(None, remote)["vm"])


def vm_addresses(snapshots: Iterable[Snapshot], vm_name: str) -> tuple[str, ...]:
    """Every private and public address of the VMs named ``vm_name`` (Azure compares VM names
    without case; the same name in two resource groups is two VMs, and both are meant)."""
    wanted = vm_name.strip().lower()
    found: list[str] = []
    for snapshot in snapshots:
        vms = {rid(vm.id) for vm in snapshot.virtual_machines if vm.name.lower() == wanted}
        nics = [nic for nic in snapshot.network_interfaces if rid(nic.vm_id or "") in vms]
        public_ids = {rid(ip_id) for nic in nics for ip_id in nic.public_ip_ids}
        nic_ids = {rid(nic.id) for nic in nics}
        for nic in nics:
            found.extend(nic.private_ips)
        for public in snapshot.public_ips:
            owner = rid(public.ip_configuration_id or "")
            owned = rid(public.id) in public_ids or owner.split("/ipconfigurations/")[0] in nic_ids
            if public.ip_address and owned:
                found.append(public.ip_address)
    return tuple(dict.fromkeys(found))


def end_names(names: NameIndex, addresses: list[str | None]) -> list[dict[str, str] | None]:
    """For each address (a finding's source or destination), the names of the NIC that holds
    it, without the empty ones; None where the inventory does not know the address."""
    if not len(names) or not addresses:
        return [None] * len(addresses)
    table = names.lookup(None, pa.array(addresses, pa.string()))
    return [
        {name: value for name, value in row.items() if value} or None for row in table.to_pylist()
    ]
