"""What changed in a subscription between two syncs, in words and as JSON before and after.

Resources are compared field by field. NSGs are also compared rule by rule (keyed by rule name,
unique within an NSG): a rule added, removed, widened or otherwise changed. An allow rule is
*widened* when it lets through something it did not before: a source or destination that the
old prefixes did not cover (``*``, ``Internet``, a larger CIDR, another service tag), a port
outside the old ranges, a protocol that became ``*``, or access that became Allow.
"""

import dataclasses
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from flowcdr.inventory import model

ANYWHERE = frozenset({"*", "any", "internet", "0.0.0.0/0", "::/0"})
MAX_PORT = 65535


@dataclass(frozen=True)
class Change:
    kind: str  # a Snapshot field: security_groups, network_interfaces...
    resource_id: str
    name: str
    change: str  # added, removed, changed, rule_added, rule_removed, rule_widened, rule_changed
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def as_json(value: Any) -> dict[str, Any]:
    """A model value as plain JSON data (tuples become lists), as the store keeps it."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(value)))
    return data


def _covered(old: tuple[str, ...], item: str) -> bool:
    lowered = {o.lower() for o in old}
    if lowered & ANYWHERE or item.lower() in lowered:
        return True
    try:
        network = ipaddress.ip_network(item, strict=False)
    except ValueError:
        return False  # a service tag or an application security group not named before
    for candidate in old:
        try:
            other = ipaddress.ip_network(candidate, strict=False)
        except ValueError:
            continue
        if other.version == network.version and network.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


def _ranges(ports: tuple[str, ...]) -> list[tuple[int, int]]:
    out = []
    for port in ports:
        if port.strip() in ("*", ""):
            out.append((0, MAX_PORT))
            continue
        low, _, high = port.partition("-")
        try:
            out.append((int(low), int(high or low)))
        except ValueError:
            out.append((0, MAX_PORT))  # not a port as Azure writes one: assume the widest
    return out


def _ports_grew(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """True when some port in ``new`` is in none of the ranges of ``old``."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(_ranges(old)):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return any(not any(a <= low and high <= b for a, b in merged) for low, high in _ranges(new))


def _shown(values: tuple[str, ...]) -> str:
    return ", ".join(values) or "(none)"


def _widenings(old: model.SecurityRule, new: model.SecurityRule) -> list[str]:
    """How ``new`` lets through more than ``old``, in words; empty when it does not."""
    if new.access != "Allow":
        return []
    found = []
    if old.access != "Allow":
        found.append("access Deny -> Allow")
    if new.protocol == "*" and old.protocol != "*":
        found.append(f"protocol {old.protocol} -> *")
    for label, before, after in (
        ("source", old.source_prefixes, new.source_prefixes),
        ("destination", old.destination_prefixes, new.destination_prefixes),
    ):
        if any(not _covered(before, item) for item in after):
            found.append(f"{label} {_shown(before)} -> {_shown(after)}")
    for label, before, after in (
        ("source ports", old.source_ports, new.source_ports),
        ("destination ports", old.destination_ports, new.destination_ports),
    ):
        if _ports_grew(before, after):
            found.append(f"{label} {_shown(before)} -> {_shown(after)}")
    return found


def rule_text(rule: model.SecurityRule) -> str:
    return (
        f"{rule.access} {rule.direction} {rule.protocol} from {_shown(rule.source_prefixes)} "
        f"to {_shown(rule.destination_prefixes)} port {_shown(rule.destination_ports)} "
        f"(priority {rule.priority})"
    )


def _rule_changes(
    kind: str, old: model.NetworkSecurityGroup, new: model.NetworkSecurityGroup
) -> list[Change]:
    before = {r.name.lower(): r for r in old.rules}
    after = {r.name.lower(): r for r in new.rules}
    out = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None and now is not None:
            change, text = "rule_added", f"rule {now.name} added: {rule_text(now)}"
        elif now is None and was is not None:
            change, text = "rule_removed", f"rule {was.name} removed: {rule_text(was)}"
        else:
            assert was is not None
            assert now is not None
            wider = _widenings(was, now)
            if wider:
                change, text = "rule_widened", f"rule {now.name} widened: " + "; ".join(wider)
            else:
                fields = _changed_fields(was, now)
                change, text = "rule_changed", f"rule {now.name} changed: " + ", ".join(fields)
        out.append(
            Change(kind, new.id, new.name, change, f"{new.name}: {text}",
                   None if was is None else as_json(was), None if now is None else as_json(now))
        )  # fmt: skip
    return out


def _changed_fields(old: Any, new: Any) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(old)
        if f.name != "rules" and getattr(old, f.name) != getattr(new, f.name)
    ]


def diff(kind: str, old: Any | None, new: Any | None) -> list[Change]:
    """The changes that turn ``old`` into ``new`` (either may be None: added or removed)."""
    if old == new:
        return []
    label = kind.replace("_", " ").rstrip("s")
    if old is None:
        assert new is not None
        return [Change(kind, new.id, new.name, "added", f"{label} {new.name} added",
                       None, as_json(new))]  # fmt: skip
    if new is None:
        return [Change(kind, old.id, old.name, "removed", f"{label} {old.name} removed",
                       as_json(old), None)]  # fmt: skip
    out = []
    fields = _changed_fields(old, new)
    if fields:
        before = {name: as_json(old)[name] for name in fields}
        after = {name: as_json(new)[name] for name in fields}
        text = f"{label} {new.name} changed: {', '.join(fields)}"
        out.append(Change(kind, new.id, new.name, "changed", text, before, after))
    if isinstance(new, model.NetworkSecurityGroup):
        out += _rule_changes(kind, old, new)
    return out
