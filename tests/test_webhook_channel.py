"""WebhookChannel against a real HTTP server on 127.0.0.1: the signed request, what the
receiver verifies, and how answers and network failures map to DeliveryFailed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
import standardwebhooks

from channel_servers import WebhookReceiver, free_port
from orderkit.adapters.notify.webhook import WebhookChannel, WebhookEndpoint
from orderkit.clock import FixedClock
from orderkit.errors import DeliveryFailed, InvalidMessage, ValidationError
from orderkit.notify.webhooks import generate_secret, verify
from orderkit.testing.channels import sample_message

SECRET = generate_secret()
NEW_SECRET = generate_secret()
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def webhook(
    url: str,
    *,
    secrets: list[str] | None = None,
    clock: FixedClock | None = None,
    **options: object,
) -> WebhookChannel:
    endpoint = WebhookEndpoint(url, secrets or [SECRET])
    return WebhookChannel({"erp": endpoint}, clock=clock, **options)  # type: ignore[arg-type]


def failure(channel: WebhookChannel, **changes: object) -> DeliveryFailed:
    with channel, pytest.raises(DeliveryFailed) as caught:
        channel.send(sample_message(recipient="erp", **changes))
    return caught.value


# -- the request --------------------------------------------------------------------------------


def test_the_request_carries_the_standard_webhooks_headers(
    receiver: WebhookReceiver, clock: FixedClock
) -> None:
    with webhook(receiver.url("/hooks"), clock=clock) as channel:
        channel.send(sample_message(recipient="erp", dedup_key="order-3:paid"))
    [request] = receiver.requests
    expected = {
        "content-type": "application/json",
        "webhook-id": "order-3:paid",
        "webhook-timestamp": str(int(NOW.timestamp())),
    }
    assert expected == {name: request.headers[name] for name in expected}


def test_the_body_is_json_with_type_timestamp_id_locale_and_data(
    receiver: WebhookReceiver, clock: FixedClock
) -> None:
    message = sample_message(recipient="erp", data={"total": "¥1,192.00", "lines": [1, 2]})
    with webhook(receiver.url("/hooks"), clock=clock) as channel:
        channel.send(message)
    expected = {
        "type": "order_placed",
        "timestamp": "2026-11-23T09:00:00+00:00",
        "id": message.message_id,
        "locale": "en",
        "data": {"total": "¥1,192.00", "lines": [1, 2]},
    }
    assert expected == json.loads(receiver.requests[0].body)


def test_the_receiver_verifies_the_request_with_orderkit(
    receiver: WebhookReceiver, clock: FixedClock
) -> None:
    with webhook(receiver.url("/hooks"), clock=clock) as channel:
        channel.send(sample_message(recipient="erp"))
    [request] = receiver.requests
    verify(request.body, request.headers, [SECRET], now=NOW)


def test_the_receiver_verifies_the_request_with_the_standardwebhooks_package(
    receiver: WebhookReceiver,
) -> None:
    with webhook(receiver.url("/hooks")) as channel:  # the system clock: the package uses it
        channel.send(sample_message(recipient="erp", data={"order": "SO-2026-000001"}))
    [request] = receiver.requests
    payload = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert {"order": "SO-2026-000001"} == payload["data"]


def test_during_a_rotation_each_request_is_signed_with_every_secret(
    receiver: WebhookReceiver, clock: FixedClock
) -> None:
    with webhook(receiver.url("/hooks"), secrets=[SECRET, NEW_SECRET], clock=clock) as channel:
        channel.send(sample_message(recipient="erp"))
    [request] = receiver.requests
    for secret in (SECRET, NEW_SECRET):
        verify(request.body, request.headers, [secret], now=NOW)
    assert 2 == len(request.headers["webhook-signature"].split(" "))


def test_a_retry_after_a_500_carries_the_same_id_with_a_fresh_timestamp(
    receiver: WebhookReceiver, clock: FixedClock
) -> None:
    receiver.statuses = [500]
    message = sample_message(recipient="erp")
    with webhook(receiver.url("/hooks"), clock=clock) as channel:
        with pytest.raises(DeliveryFailed) as caught:
            channel.send(message)
        clock.advance(timedelta(minutes=2))
        channel.send(message)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
    assert (True, [message.dedup_key] * 2, 120) == (
        caught.value.retryable,
        ids,
        stamps[1] - stamps[0],
    )


# -- answers and failures -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503])
def test_answers_that_may_pass_later_are_retryable(receiver: WebhookReceiver, status: int) -> None:
    receiver.statuses = [status]
    error = failure(webhook(receiver.url("/hooks")))
    assert (True, True) == (error.retryable, str(status) in str(error))


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 422])
def test_answers_that_refuse_the_message_are_permanent(
    receiver: WebhookReceiver, status: int
) -> None:
    receiver.statuses = [status]
    error = failure(webhook(receiver.url("/hooks")))
    assert (False, True) == (error.retryable, str(status) in str(error))


def test_an_endpoint_that_answers_too_slowly_is_retryable(receiver: WebhookReceiver) -> None:
    receiver.delay = 1.0
    error = failure(webhook(receiver.url("/hooks"), timeout=0.2))
    assert error.retryable is True


def test_an_endpoint_that_is_down_is_retryable() -> None:
    error = failure(webhook(f"http://127.0.0.1:{free_port()}/hooks"))
    assert error.retryable is True


def test_an_unknown_endpoint_name_is_refused_before_anything_is_sent(
    receiver: WebhookReceiver,
) -> None:
    with webhook(receiver.url("/hooks")) as channel, pytest.raises(InvalidMessage) as caught:
        channel.send(sample_message(recipient="warehouse"))
    assert ("recipient", []) == (caught.value.field, receiver.requests)


def test_data_that_is_not_json_is_refused_before_anything_is_sent(
    receiver: WebhookReceiver,
) -> None:
    with webhook(receiver.url("/hooks")) as channel, pytest.raises(InvalidMessage) as caught:
        channel.send(sample_message(recipient="erp", data={"total": Decimal("1.50")}))
    assert ("data", []) == (caught.value.field, receiver.requests)


def test_a_dedup_key_that_is_not_ascii_is_refused_before_anything_is_sent(
    receiver: WebhookReceiver,
) -> None:
    with webhook(receiver.url("/hooks")) as channel, pytest.raises(InvalidMessage) as caught:
        channel.send(sample_message(recipient="erp", dedup_key="订单-1:已付款"))
    assert ("dedup_key", []) == (caught.value.field, receiver.requests)


def test_a_clock_giving_naive_times_is_a_permanent_failure_before_anything_is_sent(
    receiver: WebhookReceiver,
) -> None:
    class NaiveClock:
        def now(self) -> datetime:
            return NOW.replace(tzinfo=None)

    error = failure(webhook(receiver.url("/hooks"), clock=NaiveClock()))  # type: ignore[arg-type]
    assert (False, []) == (error.retryable, receiver.requests)


def test_a_transport_can_be_injected(clock: FixedClock) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with webhook("https://erp.example/hooks", transport=httpx.MockTransport(answer)) as channel:
        channel.send(sample_message(recipient="erp"))
    assert ["https://erp.example/hooks"] == [str(request.url) for request in seen]


def test_a_closed_channel_opens_a_new_connection_pool_on_the_next_send(
    receiver: WebhookReceiver,
) -> None:
    channel = webhook(receiver.url("/hooks"))
    channel.send(sample_message(recipient="erp"))
    channel.close()
    channel.send(sample_message(recipient="erp"))
    channel.close()
    assert 2 == len(receiver.requests)


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "secrets", "field"),
    [
        ("ftp://erp.example/hooks", [SECRET], "url"),
        ("http://", [SECRET], "url"),
        ("https:///hooks", [SECRET], "url"),
        ("https://erp.example:port/hooks", [SECRET], "url"),
        ("https://erp.example/hooks", [], "secrets"),
        ("https://erp.example/hooks", ["whsec_!!"], "secrets[0]"),
        ("https://erp.example/hooks", [SECRET, "whsec_c2hvcnQ="], "secrets[1]"),
    ],
    ids=["not-http", "no-host", "empty-host", "bad-port", "no-secret", "not-base64", "too-short"],
)
def test_a_malformed_endpoint_is_refused(url: str, secrets: list[str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookEndpoint(url, secrets)
    assert field == caught.value.field


def test_a_channel_needs_an_endpoint_and_a_positive_timeout() -> None:
    endpoint = WebhookEndpoint("https://erp.example/hooks", SECRET)
    with pytest.raises(ValidationError):
        WebhookChannel({})
    with pytest.raises(ValidationError):
        WebhookChannel({"erp": endpoint}, timeout=0)


def test_an_endpoint_never_shows_its_secrets() -> None:
    endpoint = WebhookEndpoint("https://erp.example/hooks", [SECRET, NEW_SECRET])
    assert "WebhookEndpoint(url='https://erp.example/hooks', secrets=<2 hidden>)" == repr(endpoint)
