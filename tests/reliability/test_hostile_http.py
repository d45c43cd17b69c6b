"""Hostile requests to a running gateway over real sockets: refused within fixed limits.

Each attack gets a 4xx (never a 5xx, never a hang) within a stated time, and the gateway's peak
resident memory (``VmHWM``) stays within a stated bound of what it was before the attack.
"""

import gzip
import json
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..integration.server import Gateway
from ..unit.formats.builders import blob, nsg_record
from .conftest import launched, rss_kib, sign_in, subscription

ANSWER_SECONDS = 10.0  # any refusal arrives within this, on a busy two-core machine
PEAK_GROWTH_MIB = 400  # an ingest body is bounded by 256 MiB inflated (ingest_max_bytes)
GOOD = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"


def exchange(
    gateway: Gateway, chunks: Iterator[bytes] | list[bytes], wait: float = ANSWER_SECONDS
) -> tuple[int, bytes, float]:
    """Send raw bytes (chunk by chunk), then read the answer: (status, body, seconds taken)."""
    port = int(gateway.base_url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the sender was done: read the answer
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < 4096:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            answer += part
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 "), (
        f"no HTTP answer after {elapsed:.1f} s: {answer[:200]!r}"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, elapsed


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def ingest_headers(token: str, gzipped: bool = True) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{time.monotonic_ns()}"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return headers


def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzip-compressed (about a thousandth of that)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [deflate.compress(zeros) for _ in range(inflated >> 20)]
    return b"".join(parts) + deflate.flush()


@pytest.fixture
def collector(gateway: Gateway) -> str:
    return subscription(gateway, sign_in(gateway))


def test_a_gzip_bomb_is_refused_with_memory_bounded(gateway: Gateway, collector: str) -> None:
    bomb = gzip_bomb(4 << 30)  # 4 GiB of zeros in about 4 MB
    before = rss_kib(gateway.process.pid, "VmHWM")
    status, body, elapsed = exchange(
        gateway, [request("POST", "/cdr/v1/ingest", ingest_headers(collector), bomb)]
    )
    peak = rss_kib(gateway.process.pid, "VmHWM")
    assert status == 413, body
    assert b"inflates to more than" in body
    assert elapsed < ANSWER_SECONDS
    assert (peak - before) >> 10 < PEAK_GROWTH_MIB
    grown = (peak - before) >> 10
    print(f"gzip bomb {len(bomb) >> 20} MiB -> 4 GiB: 413 in {elapsed:.2f} s, peak +{grown} MiB")


def test_an_oversized_body_is_refused_before_it_is_read(gateway: Gateway, collector: str) -> None:
    declared = request(
        "POST", "/cdr/v1/ingest", {**ingest_headers(collector), "Content-Length": str(1 << 40)}
    )
    status, _, elapsed = exchange(gateway, [declared])
    assert status == 413
    assert elapsed < ANSWER_SECONDS


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Big": "a" * (256 << 10)},  # one 256 KiB header
        {f"X-H{i}": "v" * 50 for i in range(20_000)},  # 20,000 headers, about 1 MiB
    ],
    ids=["one-huge-header", "many-headers"],
)
def test_huge_headers_are_refused(gateway: Gateway, headers: dict[str, str]) -> None:
    status, _, elapsed = exchange(gateway, [request("GET", "/healthz", headers)])
    assert 400 <= status < 500
    assert elapsed < ANSWER_SECONDS


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_deeply_nested_json_is_refused(gateway: Gateway, collector: str, depth: int) -> None:
    token = sign_in(gateway)
    nested = b'{"expiry":' + b"[" * depth + b"]" * depth + b"}"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, body, _ = exchange(gateway, [request("POST", "/qas/subscription-token", auth, nested)])
    assert status == 400, body  # starlette's JSON decoding gives up on the nesting
    flowlog = b'{"records":[' + b"[" * depth + b"]" * depth + b"]}"
    status, body, _ = exchange(
        gateway,
        [request("POST", "/cdr/v1/ingest", ingest_headers(collector), gzip.compress(flowlog))],
    )
    assert status == 422, body


def test_a_10_mb_tuple_string_is_counted_as_rejected(gateway: Gateway, collector: str) -> None:
    huge = "1542110379,10.5.16.4," + "9" * (10 << 20)
    data = blob([nsg_record({"r": {"000D3AF87856": [GOOD, huge]}})])
    status, body, elapsed = exchange(
        gateway, [request("POST", "/cdr/v1/ingest", ingest_headers(collector), gzip.compress(data))]
    )
    assert status == 202, body
    answer = json.loads(body)
    assert (answer["flows"], answer["rejected"]) == (1, 1)
    assert elapsed < ANSWER_SECONDS


def test_invalid_utf_8_is_refused_everywhere(gateway: Gateway, collector: str) -> None:
    token = sign_in(gateway)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    record = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    attempts = {
        "ingest body": request(
            "POST",
            "/cdr/v1/ingest",
            ingest_headers(collector),
            gzip.compress(
                record.replace(b"10.5.16.4", b"10.5.\xff\xfe.4").replace(
                    b"WEB-NSG", b"WEB-\xc3\x28"
                )
            ),
        ),
        "json body": request("POST", "/qas/subscription-token", auth, b'{"expiry": "\xff\xfe"}'),
        "form body": request(
            "POST",
            "/auth",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"username=\xff\xfe&password=%ff%fe",
        ),
        "query": request("GET", "/cdr/v1/flows?src=%ff%fe&rule=%ff&limit=1", auth),
        "path": request("GET", "/cdr/v1/findings/%ff%fe", auth),
        "header": request(
            "POST",
            "/cdr/v1/ingest",
            {**ingest_headers(collector), "X-Flowcdr-Source": "SOURCE"},
            gzip.compress(record),
        ).replace(b"SOURCE", b"s\xff\xfe"),
    }
    answers = {}
    for name, raw in attempts.items():
        status, _, elapsed = exchange(gateway, [raw])
        answers[name] = status
        assert elapsed < ANSWER_SECONDS
    print(answers)
    assert all(status < 500 for status in answers.values()), answers


READ_SECONDS = 3.0  # the request deadline the slow-client tests run the gateway with


def trickle(first: bytes, rest: bytes, every: float, limit: float) -> Iterator[bytes]:
    """``first`` at once, then ``rest`` a byte every ``every`` seconds, for at most ``limit`` s."""
    yield first
    ends = time.monotonic() + limit
    for byte in rest:
        if time.monotonic() > ends:
            return
        time.sleep(every)
        yield bytes([byte])


@pytest.mark.parametrize("part", ["head", "body", "nothing"])
def test_a_slow_client_is_cut_off_at_the_read_deadline(tmp_path: Path, part: str) -> None:
    with launched(tmp_path, request_read_seconds=str(READ_SECONDS)) as slow:
        token = subscription(slow, sign_in(slow))
        body = gzip.compress(blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})]))
        raw = request("POST", "/cdr/v1/ingest", ingest_headers(token), body)
        split = {"head": 20, "body": raw.index(b"\r\n\r\n") + 10, "nothing": 0}[part]
        chunks = trickle(raw[:split], raw[split:], 0.5, READ_SECONDS * 4)
        status, answer, elapsed = exchange(slow, chunks)
        log = slow.log()
    assert status == 408, answer
    assert READ_SECONDS - 0.5 < elapsed < READ_SECONDS + ANSWER_SECONDS
    assert "Traceback" not in log


def test_a_slow_but_steady_request_within_the_deadline_is_served(tmp_path: Path) -> None:
    with launched(tmp_path, request_read_seconds=str(READ_SECONDS)) as slow:
        token = subscription(slow, sign_in(slow))
        body = gzip.compress(blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})]))
        raw = request("POST", "/cdr/v1/ingest", ingest_headers(token), body)
        split = len(raw) - 8
        status, answer, _ = exchange(slow, trickle(raw[:split], raw[split:], 0.1, READ_SECONDS))
    assert status == 202, answer
