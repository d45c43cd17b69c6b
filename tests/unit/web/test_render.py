"""Time ranges, the filters templates use, static assets, and autoescaping."""

import datetime as dt

import pytest

from flowcdr.web.render import assets, attack_url, human_bytes, render_text, static_url
from flowcdr.web.timerange import RangeError, time_range

from .conftest import Portal

NOW = dt.datetime(2026, 3, 1, 12, 0, 30, 123, tzinfo=dt.UTC)


def test_presets_end_now_and_custom_ranges_are_utc() -> None:
    day = time_range("24h", None, None, NOW)
    assert (day.start, day.end, day.params()) == (
        NOW.replace(microsecond=0) - dt.timedelta(days=1),
        NOW.replace(microsecond=0),
        {"range": "24h"},
    )
    assert time_range("forever", None, None, NOW).key == "24h"
    custom = time_range("custom", "2026-02-01T10:00", "2026-02-01T11:30", NOW)
    assert custom.start == dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC)
    assert custom.params() == {"range": "custom", "start": "2026-02-01T10:00",
                               "end": "2026-02-01T11:30"}  # fmt: skip
    with pytest.raises(RangeError, match="after it starts"):
        time_range("custom", "2026-02-01T10:00", "2026-02-01T09:00", NOW)
    with pytest.raises(RangeError, match="not a date"):
        time_range("custom", "yesterday", None, NOW)


def test_numbers_and_attack_links_read_as_analysts_expect() -> None:
    assert [human_bytes(v) for v in (None, 999, 1500, 2_500_000_000)] == [
        "-", "999 B", "1.5 KB", "2.5 GB"
    ]  # fmt: skip
    assert attack_url("TA0011") == "https://attack.mitre.org/tactics/TA0011/"
    assert attack_url("T1110.001") == "https://attack.mitre.org/techniques/T1110/001/"


def test_templates_escape_what_they_show() -> None:
    html = render_text("panels/resources.html", span=time_range("1h", None, None, NOW),
                       items=[_Resource("<script>alert(1)</script>")])  # fmt: skip
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


class _Resource:
    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        self.flows = self.bytes_in = self.bytes_out = 1


def test_assets_are_served_by_hash_and_stay_small(portal: Portal) -> None:
    client = portal.client
    url = static_url("portal.js")
    served = client.get(url)
    assert served.status_code == 200
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["content-type"].startswith("text/javascript")
    assert client.get("/portal/static/../app.py").status_code == 404
    assert client.get("/portal/static/vendor/htmx.LICENSE").status_code == 404
    every_page_loads = sum(asset.path.stat().st_size for asset in assets().values())
    assert every_page_loads < 500_000
