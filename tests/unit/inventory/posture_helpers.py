"""Running one posture check on a snapshot, with or without flow evidence."""

import datetime as dt

from flowcdr.inventory.model import Snapshot, rid
from flowcdr.inventory.posture.check import Audited, Check, Issue
from flowcdr.inventory.posture.evidence import NsgTraffic, RuleTraffic

from .estate import NOW


def issues(
    check: Check, snapshot: Snapshot, traffic: dict[str, NsgTraffic] | None = None
) -> list[Issue]:
    return list(check.find(Audited(snapshot, NOW, traffic)))


def traffic(nsg_id: str, days: int = 40, **rules: tuple[int, int, int]) -> dict[str, NsgTraffic]:
    """An NSG's logged traffic over the last ``days``: rule name -> (flows in the window,
    flows in the last 24 h, internet sources accepted in the last 24 h)."""
    return {
        rid(nsg_id): NsgTraffic(
            NOW - dt.timedelta(days=days),
            NOW,
            {
                name.lower(): RuleTraffic(flows, recent, sources, NOW)
                for name, (flows, recent, sources) in rules.items()
            },
        )
    }
