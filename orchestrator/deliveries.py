"""Sending the notification outbox (orchestrator.models_deliveries): the e-mails and webhooks of new
review items and cost alerts (and seal copies' webhooks, audit.sealing), each channel on its own.

Queued by `deliveries_queue` in the transaction that claims the item or alert, so an event is queued
once; sent by `deliveries_send` after that committed, never with a transaction open across a network
call:
  1. Claim one due row at a time (a guarded UPDATE of the row a FOR UPDATE SKIP LOCKED select
     found): two senders (the worker that made the item and a reconciler, two reconcilers) never
     take the same row. A claim lasts a minute past the longest its send can take (`claim_seconds`: two
     POST timeouts for a webhook, ten mail timeouts for an e-mail): a webhook whose sender died
     mid-POST is posted again then; an e-mail's is given up then (see below).
  2. Send it, then record what happened by a guarded UPDATE (still claimed, same attempt).

Webhooks are at least once. No answer, a timeout, 408, 429 or 5xx is retried after the next wait
of GATEHOUSE_NOTIFY_RETRY_MINUTES and given up after the last (logged as an error, listed in the
admin under Deliveries and, for cost alerts, on the Costs page); any other 4xx, or a redirect, is
the receiver refusing it, and is not retried. Every attempt carries the same body with its
"event_id", and that id as the Idempotency-Key header, so a receiver drops an event it already has.
After a receiver failed to answer, the pass posts nothing more to it (each would wait out the
timeout): those count as failed attempts too.

How long a retry waits (`_retry_wait`):
  * the schedule's step or, for a 429 or 503 with Retry-After (seconds or an HTTP-date), what the
    receiver asked if that is later. Retry-After is held to the schedule's longest step (24 h by
    default): a receiver cannot park an event for ever, and the operator's schedule still bounds how
    long an event is tried. It still counts as an attempt.
  * plus up to 20 % at random, never less: deliveries that failed together (their receiver was
    down) do not all come back in the same second.
After a 429 or 503 with Retry-After, the pass posts nothing more to that receiver: those rows wait as
long as it asked (held to the same longest step), not counted as an attempt, so a receiver that
rate-limits a backlog does not make it give up unposted.

E-mails are at most once after the server had the message: one whose connection dropped before the
server answered may have arrived, and is not sent again. It goes to a whole group, where a duplicate
cannot be taken back, while a lost one still leaves the item in the inbox, the webhook, the deadline
and the Costs page to bring it to people. What certainly was not sent is sent later: a mail server
that could not be reached (the row waits for the next pass, not counted as an attempt, as long as it
takes) or that answered "not now" (4xx, retried as a webhook is). An e-mail whose sender stopped
mid-message (it was killed, or hung past its claim) would otherwise stay "sending" for ever: once its
claim lapsed, the reconciler's pass `deliveries_fail_lapsed` marks it failed with an error that says
so, for an admin to see. A sender that was only slow and finishes later still records it as sent.

Settled rows (sent, failed) are deleted GATEHOUSE_DELIVERY_KEEP_DAYS after they were queued, by the
reconciler's pass `deliveries_prune`; waiting and sending ones never are, however old. Nothing is
queued again for a deleted row: the item, alert or seal itself records that it was handed on.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Now

from orchestrator.mail import MailPass, MailServerUnreachable, refused_for_now, server_refused
from orchestrator.models import Delivery, DeliveryChannel, DeliveryState

log = logging.getLogger("gatehouse.notify")

# A retry waits up to this much longer than its step, at random (see the module docstring).
JITTER = 0.2
# The last_error of an e-mail whose claim lapsed mid-send (`deliveries_fail_lapsed`); a slow sender's
# late "sent" may replace it, and only it (`_record`).
EMAIL_LAPSED = ("the sender stopped mid-message (killed, or hung past its claim); it may have arrived, "
                "so it is not sent again")

# Each source's webhook URL as configured now (apps register theirs in ready()): a retry goes where
# the URL points when it is sent, and stops if it was removed.
WEBHOOK_URLS: dict[str, Callable[[], str]] = {}


@dataclass(frozen=True)
class Event:
    """Something to tell people about, on the channels given: `email` as subject, body, to, bcc and
    headers; `webhook` as the JSON body, whose "event" names the kind (review.pending, …)."""

    source: str
    ref: int
    email: dict[str, Any] | None = None
    webhook: dict[str, Any] | None = None


def deliveries_queue(events: list[Event]) -> list[int]:
    """Queue each event's channels under one new event id; returns the rows' ids, to send with
    `deliveries_send(ids=...)` once the caller's transaction committed."""
    rows = []
    for event in events:
        event_id = uuid.uuid4()
        common = {"event_id": event_id, "source": event.source, "ref": event.ref}
        if event.email is not None:
            rows.append(Delivery(channel=DeliveryChannel.EMAIL, content=event.email, **common))
        if event.webhook is not None:
            rows.append(Delivery(channel=DeliveryChannel.WEBHOOK, content={"event_id": str(event_id), **event.webhook},
                                 **common))
    return [row.pk for row in Delivery.objects.bulk_create(rows)]


_CLAIM = """
UPDATE orchestrator_delivery SET state = 'sending', attempts = attempts + 1,
       next_attempt_at = statement_timestamp()
         + CASE channel WHEN 'email' THEN %(email_claim)s ELSE %(webhook_claim)s END * interval '1 second'
WHERE id = (
  SELECT id FROM orchestrator_delivery
  WHERE state IN ('pending', 'sending') AND next_attempt_at <= statement_timestamp()
    AND (state = 'pending' OR channel = 'webhook')
    AND channel = ANY(%(channels)s::text[]) AND id <> ALL(%(tried)s::bigint[])
    AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
    AND (%(source)s::text IS NULL OR source = %(source)s::text)
  ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, event_id, source, ref, channel, content, attempts
"""


@dataclass(frozen=True)
class _Claim:
    id: int
    event_id: uuid.UUID
    source: str
    ref: int
    channel: str
    content: dict[str, Any]
    attempts: int  # this attempt's number, and the fence of its outcome's UPDATE

    def __str__(self) -> str:
        return f"{self.source} {self.ref}: {self.channel} of event {self.event_id} (attempt {self.attempts})"


@dataclass(frozen=True)
class _Outcome:
    # release: certainly not sent and not an attempt (the mail server could not be reached, or the
    # receiver asked earlier in this pass to wait)
    result: Literal["sent", "retry", "failed", "release"]
    error: str = ""
    no_answer: bool = False  # a webhook receiver that did not answer: the pass posts nothing more to it
    # Seconds the receiver asked to wait (Retry-After of a 429 or 503, or what is left of it for a
    # release), held to the schedule's longest step; none: the step alone (a release: the next pass).
    retry_after: float | None = None


def deliveries_send(*, ids: list[int] | None = None, source: str | None = None, limit: int = 100) -> int:
    """Send the due deliveries among `ids` (or of `source`, or all of them), up to `limit`; returns
    how many went out."""
    if ids is not None and not ids:
        return 0
    sent = released = 0
    tried: list[int] = []
    channels = [DeliveryChannel.EMAIL.value, DeliveryChannel.WEBHOOK.value]
    webhooks = _WebhookPass()
    with MailPass() as mail:
        while len(tried) < limit and (claim := _claim(ids=ids, source=source, channels=channels, tried=tried)):
            tried.append(claim.id)
            if claim.channel == DeliveryChannel.EMAIL:
                outcome = _email_send(claim, mail)
                released += outcome.result == "release"
                if mail.unreachable is not None:  # no second wait in this pass; webhooks still go
                    channels = [DeliveryChannel.WEBHOOK.value]
            else:
                outcome = webhooks.post(claim)
            sent += _record(claim, outcome)
    if released:
        log.warning("notifications: the mail server could not be reached (%s); %d e-mail(s) left for the next pass",
                    mail.unreachable, released)
    return sent


def deliveries_erase(*, source: str, refs: Iterable[int] | QuerySet) -> int:
    """Their subject's personal data was erased (audit.erasure): so is the copy in its notifications.
    What was sent stays on record as sent; what was not is no longer sent. Returns how many."""
    rows = Delivery.objects.filter(source=source, ref__in=refs)
    rows.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING]).update(
        state=DeliveryState.FAILED, last_error="not sent: its data was erased first")
    return rows.update(content={"$erased": True})


def deliveries_forget(*, source: str, refs: Iterable[int] | QuerySet) -> int:
    """Their subject was pruned (audit.retention): its notifications go with it. Returns how many."""
    return Delivery.objects.filter(source=source, ref__in=refs).delete()[0]


def deliveries_fail_lapsed() -> int:
    """A reconciler pass: e-mails whose sender stopped mid-message (it was killed, or hung past its
    claim) are marked failed, with an error that says so and an error in the log, where an admin sees
    them. They are not sent again: they may have arrived. Returns how many."""
    # The claim's own time (next_attempt_at) says when it lapsed. A guarded UPDATE: two reconcilers
    # give each row up once, and a sender that recorded its outcome first keeps it.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orchestrator_delivery SET state = 'failed', last_error = %s"
            " WHERE state = 'sending' AND channel = 'email' AND next_attempt_at <= statement_timestamp()"
            " RETURNING source, ref, event_id, attempts", [EMAIL_LAPSED])
        lapsed = cursor.fetchall()
    for source, ref, event_id, attempts in lapsed:
        log.error("notification %s %s: email of event %s (attempt %d) not delivered: %s", source, ref, event_id,
                  attempts, EMAIL_LAPSED)
    return len(lapsed)


def deliveries_prune(*, batch: int = 5000) -> int:
    """A reconciler pass: delete sent and failed deliveries queued more than GATEHOUSE_DELIVERY_KEEP_DAYS
    ago (0: keep them all), at most `batch` a pass, so a backlog goes over the next passes in short
    statements. Waiting and sending ones are never deleted. Returns how many."""
    days = settings.GATEHOUSE_DELIVERY_KEEP_DAYS
    if not days:
        return 0
    with connection.cursor() as cursor:
        # SKIP LOCKED: a row an admin is sending again at this moment is left for a later pass. The
        # outer state test is the guard: only rows still settled when deleted go.
        cursor.execute(
            "DELETE FROM orchestrator_delivery WHERE state IN ('sent', 'failed') AND id IN ("
            " SELECT id FROM orchestrator_delivery WHERE state IN ('sent', 'failed')"
            " AND created_at < statement_timestamp() - %s * interval '1 day'"
            " ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED)", [days, batch])
        pruned = cursor.rowcount
    if pruned:
        log.info("notifications: deleted %d sent or failed deliveries queued more than %d days ago", pruned, days)
    return pruned


def deliveries_retry(*, ids: list[int]) -> int:
    """Give failed webhooks among `ids` a fresh round of attempts, due now (an operator's "send again"
    once the receiver is fixed); returns how many. E-mails are not: one may have arrived."""
    return Delivery.objects.filter(pk__in=ids, channel=DeliveryChannel.WEBHOOK, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=Now(), last_error="")


def claim_seconds() -> dict[str, int]:
    """How long a claim lasts, per channel: a minute past the longest its send can take, so it lapses
    only for a sender that died or hung, never during a send. A POST waits at most two webhook
    timeouts (connect, then the answer); an e-mail's SMTP exchange (connect, greeting, EHLO, STARTTLS,
    EHLO, AUTH, MAIL, RCPT, DATA, the message) at most ten mail timeouts."""
    return {"webhook_claim": 60 + 2 * settings.GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS,
            "email_claim": 60 + 10 * settings.EMAIL_TIMEOUT}


def _claim(*, ids: list[int] | None, source: str | None, channels: list[str], tried: list[int]) -> _Claim | None:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, {**claim_seconds(), "channels": channels, "tried": tried, "ids": ids,
                                "source": source})
        row = cursor.fetchone()
    if row is None:
        return None
    pk, event_id, source_, ref, channel, content, attempts = row
    # Django reads jsonb as text (JSONField decodes it); a raw cursor gets that text.
    return _Claim(pk, event_id, source_, ref, channel, json.loads(content) if isinstance(content, str) else content,
                  attempts)


def _record(claim: _Claim, outcome: _Outcome) -> int:
    """Record the outcome if the row is still this attempt's claim; 1 if it was sent."""
    retries = settings.GATEHOUSE_NOTIFY_RETRY_MINUTES
    error = outcome.error[:1000]
    if outcome.result == "sent":
        changes: dict[str, Any] = {"state": DeliveryState.SENT, "sent_at": Now(), "last_error": ""}
    elif outcome.result == "release":
        changes = {"state": DeliveryState.PENDING, "attempts": F("attempts") - 1,
                   "next_attempt_at": _from_now(outcome.retry_after or 0.0), "last_error": error}
    elif outcome.result == "retry" and claim.attempts <= len(retries):
        wait = _retry_wait(step_minutes=retries[claim.attempts - 1], retry_after=outcome.retry_after)
        changes = {"state": DeliveryState.PENDING, "last_error": error, "next_attempt_at": _from_now(wait)}
        log.warning("notification %s failed: %s; trying again in %.1f min", claim, outcome.error, wait / 60)
    else:
        if outcome.result == "retry":
            error = f"given up after {claim.attempts} attempts: {outcome.error}"[:1000]
        changes = {"state": DeliveryState.FAILED, "last_error": error}
        log.error("notification %s not delivered: %s", claim, error)
    mine = Q(state=DeliveryState.SENDING)
    if outcome.result == "sent" and claim.channel == DeliveryChannel.EMAIL:
        # A slow sender, not a dead one: the lapse pass gave its e-mail up as "may have arrived"; it did.
        mine |= Q(state=DeliveryState.FAILED, last_error=EMAIL_LAPSED)
    claimed = Delivery.objects.filter(mine, pk=claim.id, attempts=claim.attempts)
    if claimed.update(**changes) != 1:
        if claim.channel == DeliveryChannel.EMAIL:
            log.warning("notification %s: no longer claimed (its claim lapsed and it was given up, or its data "
                        "was erased); %s not recorded", claim, outcome.result)
        else:  # another sender has posted it again meanwhile, and records its own
            log.warning("notification %s: its claim lapsed and another sender took it over; %s not recorded",
                        claim, outcome.result)
        return 0
    return int(outcome.result == "sent")


def _retry_wait(*, step_minutes: int, retry_after: float | None) -> float:
    """Seconds until the next attempt: the schedule's step or, if later, the receiver's Retry-After (held
    to the schedule's longest step by `_webhook_post`); then up to JITTER more, at random, never less."""
    wait = max(60.0 * step_minutes, retry_after or 0.0)
    return wait * (1 + random.uniform(0, JITTER))  # noqa: S311 - spreading retries, not a secret


def _from_now(seconds: float) -> ExpressionWrapper:
    # The database's clock, as every claim compares with it.
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def _email_send(claim: _Claim, mail: MailPass) -> _Outcome:
    content = claim.content
    message = EmailMessage(subject=content["subject"], body=content["body"], to=content.get("to") or [],
                           bcc=content.get("bcc") or [], headers=content.get("headers") or {})
    try:
        mail.send(message)
    except MailServerUnreachable as exc:
        return _Outcome("release", str(exc))
    except Exception as exc:
        if refused_for_now(exc):
            return _Outcome("retry", f"the mail server said not now: {exc}")
        if server_refused(exc):
            return _Outcome("failed", f"the mail server refused it: {exc}")
        return _Outcome("failed", f"lost mid-message ({exc!r}); it may have arrived, so it is not sent again")
    return _Outcome("sent")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect of a POST as a GET without the body, and call that a success.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class _WebhookPass:
    """The webhooks of one pass: each source's URL read once, and receivers that did not answer."""

    def __init__(self) -> None:
        self._urls: dict[str, str] = {}
        self._silent: dict[str, str] = {}  # URL -> why it did not answer in this pass
        self._waiting: dict[str, float] = {}  # URL -> until when (time.monotonic()) it asked us to wait

    def post(self, claim: _Claim) -> _Outcome:
        if claim.source not in self._urls:
            self._urls[claim.source] = WEBHOOK_URLS[claim.source]() if claim.source in WEBHOOK_URLS else ""
        url = self._urls[claim.source]
        if not url:
            return _Outcome("failed", f"no webhook URL is set for {claim.source} notifications any more")
        if url in self._silent:
            return _Outcome("retry", f"not tried: the receiver did not answer earlier in this pass ({self._silent[url]})")
        if url in self._waiting:
            return _Outcome("release", "not tried: the receiver asked earlier in this pass to wait (Retry-After)",
                            retry_after=max(0.0, self._waiting[url] - time.monotonic()))
        outcome = _webhook_post(url, claim.content, event_id=claim.event_id, attempt=claim.attempts)
        if outcome.no_answer:
            self._silent[url] = outcome.error
        if outcome.retry_after is not None:
            self._waiting[url] = time.monotonic() + outcome.retry_after
        return outcome


def _webhook_post(url: str, payload: dict[str, Any], *, event_id: uuid.UUID, attempt: int) -> _Outcome:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "gatehouse-webhook/1",
        "Idempotency-Key": str(event_id), "X-Gatehouse-Event": str(payload.get("event", "")),
        "X-Gatehouse-Attempt": str(attempt),
    })
    try:
        with _OPENER.open(request, timeout=settings.GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 - operator-set URL
            response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (408, 429) or exc.code >= 500:
            # RFC 9110 gives Retry-After a meaning on 429 and 503 (and on redirects, refused below).
            after = _retry_after(exc.headers.get("Retry-After")) if exc.code in (429, 503) else None
            if after is None:
                return _Outcome("retry", f"HTTP {exc.code} {exc.reason}")
            # Held here, once: no receiver parks an event (or, for the rest of the pass, its receiver's
            # other events) past the schedule's longest step.
            return _Outcome("retry", f"HTTP {exc.code} {exc.reason} (it asked to wait {after:.0f} s)",
                            retry_after=min(after, 60.0 * max(settings.GATEHOUSE_NOTIFY_RETRY_MINUTES)))
        return _Outcome("failed", f"HTTP {exc.code} {exc.reason}: the receiver refused it, so it is not retried")
    except ValueError:  # not a URL urllib can post to: retrying would not change that
        return _Outcome("failed", "the webhook URL is not one that can be posted to (http or https)")
    except (OSError, http.client.HTTPException) as exc:  # refused, timed out, dropped: it may have arrived
        # Errors name no URL: they are shown on pages, and a webhook URL often carries a secret token.
        return _Outcome("retry", f"no answer: {exc}", no_answer=True)
    return _Outcome("sent")


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait: delay-seconds or an HTTP-date (RFC 9110 10.2.3); None
    when absent or unreadable (the schedule's step then applies alone)."""
    value = (value or "").strip()
    if re.fullmatch(r"[0-9]+", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as every HTTP-date is
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
