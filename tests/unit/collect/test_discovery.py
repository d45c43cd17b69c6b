from datetime import UTC, datetime

from flowcdr.collect.discovery import Discovery, hours_to_read, parse_path
from flowcdr.collect.memory import MemorySource

from .helpers import NAME, layout

VNET = (
    "flowLogResourceID=/00000000-0000-0000-0000-000000000001_NETWORKWATCHERRG/"
    "NETWORKWATCHER_EASTUS_FLOW-RG-FLOWLOGS/y=2026/m=11/d=27/h=21/m=00/"
    "macAddress=00224871c205/PT1H.json"
)


def test_hour_and_mac_from_any_path_shape() -> None:
    path = parse_path(VNET)
    assert path is not None
    assert (path.hour, path.mac) == (datetime(2026, 11, 27, 21, tzinfo=UTC), "00224871C205")
    assert parse_path("resourceId=/x/y=2026/m=11/d=27/h=21/m=00/notes.txt") is None


def test_current_and_previous_hours_plus_backfill() -> None:
    now = datetime(2026, 11, 28, 0, 5, tzinfo=UTC)
    assert [h.hour for h in hours_to_read(now, 0)] == [23, 0]
    assert [h.hour for h in hours_to_read(now, 2)] == [21, 22, 23, 0]


def test_only_the_wanted_hours_below_each_resource_are_listed() -> None:
    source = MemorySource()
    for name in (NAME, VNET, NAME.replace("h=22", "h=10"), NAME.replace("PT1H.json", "x.txt")):
        source.commit("c", name, layout())
    now = datetime(2026, 11, 27, 22, 1, tzinfo=UTC)
    found = [b.name for b in Discovery(source).blobs("c", hours_to_read(now, 0))]
    assert found == [VNET, NAME]
