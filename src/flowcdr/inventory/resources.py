"""ARM resource JSON (as the REST API and the SDK models' ``as_dict()`` give it) to model values.

Pure functions, one per resource type, reading only ``id``, ``name``, ``location`` and the
``properties`` the inventory needs. ARM omits empty properties rather than sending nulls, and
NSG rules carry singular and plural forms of the same field (``sourceAddressPrefix`` and
``sourceAddressPrefixes``): both are read and merged, application security groups as
``asg:<name>``.
"""

from collections.abc import Mapping
from typing import Any, cast

from flowcdr.inventory import model
from flowcdr.inventory.model import name_of, normalize_mac, resource_group_of

Json = Mapping[str, Any]


def _props(resource: Json) -> Json:
    return cast(Json, resource.get("properties") or {})


def _ref(value: Any) -> str | None:
    """The id of a sub-resource reference such as ``{"id": "..."}``, or None."""
    return value.get("id") if isinstance(value, Mapping) and value.get("id") else None


def _refs(values: Any) -> tuple[str, ...]:
    return tuple(ref for ref in (_ref(v) for v in values or ()) if ref)


def _merged(single: Any, plural: Any, groups: Any = ()) -> tuple[str, ...]:
    """One rule field from its singular, plural and application-security-group forms."""
    out = [single] if isinstance(single, str) and single else []
    out += [v for v in plural or () if isinstance(v, str) and v and v not in out]
    out += [f"asg:{name_of(ref)}" for ref in _refs(groups)]
    return tuple(out)


def _common(resource: Json) -> tuple[str, str, str, str]:
    resource_id = str(resource["id"])
    name = str(resource.get("name") or name_of(resource_id))
    return resource_id, name, resource_group_of(resource_id), str(resource.get("location") or "")


def security_rule(rule: Json, default: bool) -> model.SecurityRule:
    p = _props(rule)
    return model.SecurityRule(
        name=str(rule.get("name") or name_of(str(rule.get("id", "")))),
        priority=int(p.get("priority", 0)),
        direction=p.get("direction", "Inbound"),
        access=p.get("access", "Deny"),
        protocol=str(p.get("protocol", "*")),
        source_prefixes=_merged(
            p.get("sourceAddressPrefix"),
            p.get("sourceAddressPrefixes"),
            p.get("sourceApplicationSecurityGroups"),
        ),
        source_ports=_merged(p.get("sourcePortRange"), p.get("sourcePortRanges")),
        destination_prefixes=_merged(
            p.get("destinationAddressPrefix"),
            p.get("destinationAddressPrefixes"),
            p.get("destinationApplicationSecurityGroups"),
        ),
        destination_ports=_merged(p.get("destinationPortRange"), p.get("destinationPortRanges")),
        default=default,
        description=str(p.get("description") or ""),
    )


def security_group(resource: Json) -> model.NetworkSecurityGroup:
    resource_id, name, group, location = _common(resource)
    p = _props(resource)
    rules = [security_rule(r, False) for r in p.get("securityRules") or ()]
    rules += [security_rule(r, True) for r in p.get("defaultSecurityRules") or ()]
    return model.NetworkSecurityGroup(
        id=resource_id,
        name=name,
        resource_group=group,
        location=location,
        rules=tuple(rules),
        subnet_ids=_refs(p.get("subnets")),
        nic_ids=_refs(p.get("networkInterfaces")),
    )


def network_interface(resource: Json) -> model.NetworkInterface:
    resource_id, name, group, location = _common(resource)
    p = _props(resource)
    configurations = [_props(c) for c in p.get("ipConfigurations") or ()]
    return model.NetworkInterface(
        id=resource_id,
        name=name,
        resource_group=group,
        location=location,
        mac=normalize_mac(str(p.get("macAddress") or "")),
        private_ips=tuple(
            str(c["privateIPAddress"]) for c in configurations if c.get("privateIPAddress")
        ),
        subnet_ids=tuple(ref for ref in (_ref(c.get("subnet")) for c in configurations) if ref),
        public_ip_ids=tuple(
            ref for ref in (_ref(c.get("publicIPAddress")) for c in configurations) if ref
        ),
        nsg_id=_ref(p.get("networkSecurityGroup")),
        vm_id=_ref(p.get("virtualMachine")),
    )


def public_ip(resource: Json) -> model.PublicIpAddress:
    resource_id, name, group, location = _common(resource)
    p = _props(resource)
    return model.PublicIpAddress(
        id=resource_id,
        name=name,
        resource_group=group,
        location=location,
        ip_address=p.get("ipAddress") or None,
        ip_configuration_id=_ref(p.get("ipConfiguration")),
    )


def virtual_network(resource: Json) -> tuple[model.VirtualNetwork, list[model.Subnet]]:
    """A VNet and its subnets (ARM lists subnets inside their VNet)."""
    resource_id, name, group, location = _common(resource)
    p = _props(resource)
    space = cast(Json, p.get("addressSpace") or {})
    subnets = []
    for subnet in p.get("subnets") or ():
        sp = _props(subnet)
        subnets.append(
            model.Subnet(
                id=str(subnet["id"]),
                name=str(subnet.get("name") or name_of(str(subnet["id"]))),
                vnet_id=resource_id,
                address_prefixes=_merged(sp.get("addressPrefix"), sp.get("addressPrefixes")),
                nsg_id=_ref(sp.get("networkSecurityGroup")),
            )
        )
    vnet = model.VirtualNetwork(
        id=resource_id,
        name=name,
        resource_group=group,
        location=location,
        address_prefixes=tuple(space.get("addressPrefixes") or ()),
    )
    return vnet, subnets


def virtual_machine(resource: Json) -> model.VirtualMachine:
    resource_id, name, group, location = _common(resource)
    profile = cast(Json, _props(resource).get("networkProfile") or {})
    return model.VirtualMachine(
        id=resource_id,
        name=name,
        resource_group=group,
        location=location,
        nic_ids=_refs(profile.get("networkInterfaces")),
    )


def storage_account(resource: Json) -> model.StorageAccount:
    resource_id, name, _, location = _common(resource)
    return model.StorageAccount(id=resource_id, name=name, location=location)


def flow_log(resource: Json) -> model.FlowLog:
    resource_id, name, _, location = _common(resource)
    p = _props(resource)
    retention = cast(Json, p.get("retentionPolicy") or {})
    fmt = cast(Json, p.get("format") or {})
    analytics = cast(Json, p.get("flowAnalyticsConfiguration") or {})
    watcher = cast(Json, analytics.get("networkWatcherFlowAnalyticsConfiguration") or {})
    return model.FlowLog(
        id=resource_id,
        name=name,
        location=location,
        target_id=str(p.get("targetResourceId") or ""),
        storage_id=str(p.get("storageId") or ""),
        enabled=bool(p.get("enabled", False)),
        retention_enabled=bool(retention.get("enabled", False)),
        retention_days=int(retention.get("days") or 0),
        format_version=int(fmt.get("version") or 1),
        traffic_analytics=bool(watcher.get("enabled", False)),
    )
