"""Announcing opened findings to webhooks, without ever holding up detection.

The detector hands over the ids of the findings a pass changed (``findings_changed``: a list
append under a lock) and goes on. One thread of the notifier's own reads those findings, keeps
the ones the pass *opened* (created at the pass's time, status ``open``: a suppressed finding
is not announced, nor one that only grew) and the open ones whose severity *rose* above what
this notifier last saw of them (``finding.escalated``; it remembers the last ``REMEMBERED``
findings, so a rise across a restart goes unannounced), and posts each to every webhook of the
tenant whose minimum severity it meets. A delivery that fails on the network, a timeout, 408,
429 or a 5xx is tried again after a jittered, doubling, capped wait, at most ``attempts`` times
in all; any other answer ends it. Attempts are scheduled, not slept on, so a slow receiver
delays only its own retries. Each attempt's outcome and each delivery's end are kept on the
webhook.

Every attempt resolves the webhook's host afresh and checks it against the deployment's egress
policy (flowcdr.detect.webhook_guard): a name that now points somewhere refused is not sent to,
and the outcome says why (``refused: ...``, not retried). The connection goes to the address
that was checked, never to a second resolution of the name.

Pending deliveries live in memory: a gateway stopped while a receiver is down loses them (the
findings stay in the API). Changes beyond ``queue_limit`` pending passes are dropped, logged.
"""

import datetime as dt
import heapq
import http.client
import itertools
import logging
import random
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from flowcdr.detect.finding import Finding, iso
from flowcdr.detect.ledger import FindingLedger
from flowcdr.detect.rule import SEVERITIES, Severity
from flowcdr.detect.webhook_guard import TargetGuard, TargetRefusedError, pinned_connection
from flowcdr.detect.webhooks import EVENT_TEST, Target, WebhookStore, body, sign, test_body

EVENT_OPENED = "finding.opened"
EVENT_ESCALATED = "finding.escalated"
REMEMBERED = 100_000
USER_AGENT = "flowcdr-webhook/1"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    target: Target
    event: str
    delivery_id: str
    body: bytes
    attempt: int = 0
    """Attempts made so far."""


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry: bool
    status: str
    """``HTTP <code>``, the network error, or ``refused: <why>``."""
    refused: bool = False
    """The egress policy did not let the request leave."""


def post(
    url: str,
    payload: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    guard: TargetGuard,
    tls: ssl.SSLContext | None = None,
) -> Outcome:
    """One POST to ``url`` if ``guard`` lets it be reached now, to the address it checked; no
    redirects followed (a redirect is an answer, not a delivery)."""
    try:
        target = guard.pinned(url)
    except TargetRefusedError as error:
        return Outcome(False, False, f"refused: {error}", refused=True)
    except OSError as error:  # the name does not resolve now: maybe later
        return Outcome(False, True, f"{type(error).__name__}: {error}")
    connection = pinned_connection(target, timeout, tls)
    try:
        connection.request("POST", target.path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        code = response.status
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, True, f"{type(error).__name__}: {error}")
    finally:
        connection.close()
    delivered = 200 <= code < 300
    retry = not delivered and (code in (408, 429) or code >= 500)
    return Outcome(delivered, retry, f"HTTP {code}")


class Notifier:
    """Delivers finding announcements from its own thread; ``start`` it, ``close`` it."""

    def __init__(
        self,
        hooks: WebhookStore,
        ledger: FindingLedger,
        *,
        attempts: int = 6,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 300.0,
        timeout_seconds: float = 10.0,
        queue_limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: the context HTTPS deliveries verify receivers with (default: the system's
        trusted CAs)."""
        self._hooks = hooks
        self._ledger = ledger
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._timeout = timeout_seconds
        self._queue_limit = queue_limit
        self._clock = clock
        self._jitter = jitter
        self._tls = tls
        self._wake = threading.Condition()
        self._changes: list[tuple[str, tuple[str, ...], dt.datetime]] = []
        self._due: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._closing = False
        self._severities: OrderedDict[str, Severity] = OrderedDict()
        self._thread = threading.Thread(target=self._run, name="flowcdr-notify", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def findings_changed(self, tenant_id: str, ids: Collection[str], now: dt.datetime) -> None:
        """A detection pass at ``now`` changed these findings; returns at once."""
        if not ids:
            return
        with self._wake:
            if len(self._changes) >= self._queue_limit:
                log.warning("notifications: %d passes pending, dropping one", len(self._changes))
                return
            self._changes.append((tenant_id, tuple(ids), now))
            self._wake.notify_all()

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: doubling, capped, between half and all."""
        ceiling = min(self._max_backoff, self._backoff * 2.0**attempt)
        return ceiling * (0.5 + self._jitter() / 2)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closing and not self._changes and not self._ready():
                    wait = self._due[0][0] - self._clock() if self._due else None
                    self._wake.wait(wait)
                if self._closing:
                    return
                changes, self._changes = self._changes, []
                ready = []
                while self._ready():
                    ready.append(heapq.heappop(self._due)[2])
            for tenant_id, ids, now in changes:
                self._guarded(self._announce, tenant_id, ids, now)
            for delivery in ready:
                self._guarded(self._attempt, delivery)

    def _ready(self) -> bool:
        return bool(self._due) and self._due[0][0] <= self._clock()

    @staticmethod
    def _guarded(work: Callable[..., None], *args: object) -> None:
        try:
            work(*args)
        except Exception:  # the thread must outlive one bad delivery or a database hiccup
            log.exception("notifications: delivery failed unexpectedly")

    def _announce(self, tenant_id: str, ids: tuple[str, ...], now: dt.datetime) -> None:
        targets = self._hooks.targets(tenant_id)
        if not targets:
            return
        for finding_id in ids:
            tracked = self._ledger.finding(tenant_id, finding_id)
            if tracked is None or tracked.finding.status != "open":
                continue
            finding = tracked.finding
            before = self._severities.pop(finding_id, None)
            self._severities[finding_id] = finding.severity
            if len(self._severities) > REMEMBERED:
                self._severities.popitem(last=False)
            if tracked.created_at == iso(now):
                event = EVENT_OPENED
            elif before is not None and SEVERITIES.index(finding.severity) > SEVERITIES.index(
                before
            ):
                event = EVENT_ESCALATED
            else:  # extended or refreshed, no higher
                continue
            for target in targets:
                if target.hook.wants(finding.severity):
                    self._attempt(self._delivery(target, event, finding, now))

    @staticmethod
    def _delivery(target: Target, event: str, finding: Finding, now: dt.datetime) -> Delivery:
        delivery_id = str(uuid.uuid4())
        payload = body(target.hook.kind, event, delivery_id, finding, now)
        return Delivery(target, event, delivery_id, payload)

    def send_test(self, tenant_id: str, hook_id: str) -> tuple[str, Outcome] | None:
        """One signed test event to the tenant's webhook ``hook_id``, now, on the caller's
        thread, checked as deliveries are: its delivery id and outcome (None: no such webhook).
        Not retried, and not counted in the webhook's deliveries."""
        found = self._hooks.targets(tenant_id, hook_id)
        if not found:
            return None
        (target,) = found
        delivery_id = str(uuid.uuid4())
        payload = test_body(target.hook.kind, delivery_id, dt.datetime.now(dt.UTC))
        return delivery_id, self._send(Delivery(target, EVENT_TEST, delivery_id, payload))

    def _send(self, delivery: Delivery) -> Outcome:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Flowcdr-Event": delivery.event,
            "X-Flowcdr-Delivery": delivery.delivery_id,
            "X-Flowcdr-Timestamp": str(timestamp),
            "X-Flowcdr-Signature": sign(delivery.target.secret, timestamp, delivery.body),
        }
        return post(delivery.target.url, delivery.body, headers, self._timeout,
                    guard=self._hooks.guard, tls=self._tls)  # fmt: skip

    def _attempt(self, delivery: Delivery) -> None:
        outcome = self._send(delivery)
        hook = delivery.target.hook
        at = dt.datetime.now(dt.UTC)
        self._hooks.attempted(hook.id, outcome.status, at=at)
        attempt = delivery.attempt + 1
        if outcome.delivered or not outcome.retry or attempt >= self._attempts:
            self._hooks.finished(hook.id, outcome.delivered, at=at)
            if not outcome.delivered:
                log.warning("webhook %s (%s): gave up on delivery %s after %d attempts: %s",
                            hook.id, hook.url_hint, delivery.delivery_id, attempt,
                            outcome.status)  # fmt: skip
            return
        again = Delivery(delivery.target, delivery.event, delivery.delivery_id, delivery.body,
                         attempt)  # fmt: skip
        with self._wake:
            heapq.heappush(self._due, (self._clock() + self.backoff(attempt - 1),
                                       next(self._order), again))  # fmt: skip
            self._wake.notify_all()
