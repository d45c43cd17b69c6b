"""Feed files in the shapes public feeds publish (synthetic entries, public-looking ranges)."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from flowcdr.detect.feeds import IntelError, parse_feed, read_feed
from flowcdr.detect.intel import Intel

NOW = dt.datetime.now(dt.UTC)


def test_plain_list_with_comments_and_trailing_text() -> None:
    text = "# FireHOL-style header\n11.1.1.0/24\n\n22.2.2.2 ; SBL123\n; comment\n33.3.3.3 # note\n"
    entries, seen = parse_feed(text, "x")
    assert entries == ["11.1.1.0/24", "22.2.2.2", "33.3.3.3"]
    assert seen == [None, None, None]


def test_feodo_csv_with_commented_header(tmp_path: Path) -> None:
    recent = (NOW - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "feodo.csv"
    path.write_text(
        "################\n# abuse.ch Feodo Tracker\n#\n"
        '# "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\n'
        f'"2021-01-17 07:44:46","11.1.1.1","443","online","{recent}","Dridex"\n'
        '"2020-01-17 07:44:46","22.2.2.2","8080","offline","2020-02-01","Emotet"\n'
        "# end\n"
    )
    feed = read_feed(path, max_age=dt.timedelta(days=30))
    assert feed.name == "feodo"
    assert feed.stats.expired == 1
    assert Intel((feed,)).match(pa.array(["11.1.1.1", "22.2.2.2"])).to_pylist() == ["feodo", None]


def test_csv_with_plain_ip_header() -> None:
    entries, _ = parse_feed("ip,score\n11.1.1.1,90\n22.2.2.2,40\n", "x")
    assert entries == ["11.1.1.1", "22.2.2.2"]


def test_spamhaus_drop_ndjson_dated_by_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "drop_v4.json"
    stale = int((NOW - dt.timedelta(days=60)).timestamp())
    path.write_text(
        '{"cidr":"11.10.16.0/20","sblid":"SBL256894","rir":"apnic"}\n'
        '{"cidr":"2a07:a8c0::/29","sblid":"SBL1","rir":"ripencc"}\n'
        f'{{"type":"metadata","timestamp":{stale},"size":2,"records":2}}\n'
    )
    assert len(read_feed(path, max_age=None)) == 2
    assert len(read_feed(path, max_age=dt.timedelta(days=30))) == 0


def test_tor_exit_addresses() -> None:
    text = (
        "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
        "Published 2026-11-26 10:00:00\nLastStatus 2026-11-26 11:00:00\n"
        "ExitAddress 11.4.4.4 2026-11-26 11:05:00\n"
    )
    entries, seen = parse_feed(text, "x")
    assert entries == ["11.4.4.4"]
    assert seen == [dt.datetime(2026, 11, 26, 11, 5, tzinfo=dt.UTC)]


def test_unusable_files_name_themselves(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello world\nfoo\n")
    with pytest.raises(IntelError, match=r"garbage\.txt: no valid address"):
        read_feed(garbage)
    broken = tmp_path / "broken.json"
    broken.write_text('{"cidr": "11.1.1.0/24"}\n{oops\n')
    with pytest.raises(IntelError, match="line 2 is not JSON"):
        read_feed(broken)
