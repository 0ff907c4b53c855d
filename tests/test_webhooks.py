"""Standard Webhooks signing and verification (orderkit.notify.webhooks): known answers, interop
with the reference Python package in both directions, rotation, freshness, and a property
that any changed byte fails."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from orderkit.errors import ValidationError, WebhookVerificationError
from orderkit.notify.webhooks import generate_secret, secret_key, sign, signature_headers, verify
from strategies import flipped_text, webhook_deliveries

# The published test vector of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
# test_sign_function; the same vector appears in the JavaScript, Go and PHP libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Our own vectors: a UTF-8 body with Chinese and two secrets, as for a rotation. The expected
# signatures were computed once with the standardwebhooks package (Webhook(secret).sign).
OLD_SECRET = "whsec_dGhlIG9yZGVya2l0IHRlc3Qgc2VjcmV0IG51bWJlciBvbmU="
NEW_SECRET = "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24sIDMyIGJ5dGVzIQ=="
OUR_ID = "order-1:order_placed"
OUR_TIMESTAMP = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 1795424400
OUR_BODY = '{"type":"order_placed","data":{"customer":"林伟","total":"¥1,192.00"}}'
OLD_SIGNATURE = "v1,d9W2Z9yZD+lI1yOociUiibtt966RfJCGpQtwbpoSXfc="
NEW_SIGNATURE = "v1,rBXBihTQZBtbRb96qFSBC4qOxehtN1e1Lb9WO7hI83w="


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def spec_headers() -> dict[str, str]:
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def reason(payload: bytes | str, headers: dict[str, str], **options: object) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(payload, headers, [SPEC_SECRET], **options)  # type: ignore[arg-type]
    return caught.value.reason


# -- known answers ----------------------------------------------------------------------------


def test_signing_the_published_vector_gives_the_published_signature() -> None:
    assert SPEC_SIGNATURE == sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SECRET)


def test_the_published_vector_verifies_at_its_own_time() -> None:
    verify(SPEC_BODY, spec_headers(), SPEC_SECRET, now=at(SPEC_TIMESTAMP))


def test_a_chinese_body_signed_with_two_secrets_gives_both_known_signatures() -> None:
    assert f"{OLD_SIGNATURE} {NEW_SIGNATURE}" == sign(
        OUR_ID, OUR_TIMESTAMP, OUR_BODY.encode("utf-8"), [OLD_SECRET, NEW_SECRET]
    )


def test_the_headers_carry_the_id_whole_seconds_and_the_signature() -> None:
    expected = {
        "webhook-id": OUR_ID,
        "webhook-timestamp": "1795424400",
        "webhook-signature": OLD_SIGNATURE,
    }
    moment = OUR_TIMESTAMP + timedelta(milliseconds=900)
    assert expected == signature_headers(OUR_ID, moment, OUR_BODY, OLD_SECRET)


def test_the_whsec_prefix_is_optional_as_in_the_reference_libraries() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert SPEC_SIGNATURE == sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, bare)


# -- interoperability with the standardwebhooks package ------------------------------------------


def test_the_reference_package_verifies_what_orderkit_signs() -> None:
    secret = generate_secret()
    body = '{"type":"shipped","data":{"tracking":"SF1234567890"}}'
    headers = signature_headers("order-7:shipped", datetime.now(timezone.utc), body, secret)
    assert {"type": "shipped", "data": {"tracking": "SF1234567890"}} == standardwebhooks.Webhook(
        secret
    ).verify(body, headers)


def test_orderkit_verifies_what_the_reference_package_signs() -> None:
    now = datetime.now(timezone.utc)
    signature = standardwebhooks.Webhook(NEW_SECRET).sign(OUR_ID, now, OUR_BODY)
    headers = {
        "Webhook-Id": OUR_ID,
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": signature,
    }
    verify(OUR_BODY, headers, [NEW_SECRET])


def test_during_a_rotation_the_reference_package_accepts_either_secret() -> None:
    now = datetime.now(timezone.utc)
    headers = signature_headers(OUR_ID, now, OUR_BODY, [OLD_SECRET, NEW_SECRET])
    for secret in (OLD_SECRET, NEW_SECRET):
        standardwebhooks.Webhook(secret).verify(OUR_BODY, headers, json_parse=False)


def test_a_generated_secret_has_32_random_bytes_and_the_reference_package_accepts_it() -> None:
    secret = generate_secret()
    standardwebhooks.Webhook(secret)  # raises for a secret it cannot use
    assert (True, 32) == (secret.startswith("whsec_"), len(secret_key(secret)))


# -- rotation ---------------------------------------------------------------------------------


def rotated_headers() -> dict[str, str]:
    return signature_headers(OUR_ID, OUR_TIMESTAMP, OUR_BODY, [OLD_SECRET, NEW_SECRET])


@pytest.mark.parametrize("receiver_secrets", [[OLD_SECRET], [NEW_SECRET], [NEW_SECRET, OLD_SECRET]])
def test_a_receiver_holding_any_active_secret_accepts_a_rotated_delivery(
    receiver_secrets: list[str],
) -> None:
    verify(OUR_BODY, rotated_headers(), receiver_secrets, now=OUR_TIMESTAMP)


def test_a_receiver_holding_only_a_retired_secret_refuses() -> None:
    headers = signature_headers(OUR_ID, OUR_TIMESTAMP, OUR_BODY, [NEW_SECRET])
    with pytest.raises(WebhookVerificationError) as caught:
        verify(OUR_BODY, headers, [OLD_SECRET], now=OUR_TIMESTAMP)
    assert "no_matching_signature" == caught.value.reason


def test_signatures_of_other_versions_are_ignored_beside_a_matching_v1() -> None:
    headers = spec_headers()
    headers["webhook-signature"] = f"v2,AAAA v1a,{SPEC_SIGNATURE[3:]} {SPEC_SIGNATURE}"
    verify(SPEC_BODY, headers, SPEC_SECRET, now=at(SPEC_TIMESTAMP))


# -- freshness and malformed requests -----------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(301, "timestamp_too_old"), (-301, "timestamp_too_new")],
    ids=["too-old", "too-new"],
)
def test_a_timestamp_outside_the_tolerance_is_refused(offset: int, expected: str) -> None:
    assert expected == reason(SPEC_BODY, spec_headers(), now=at(SPEC_TIMESTAMP + offset))


@pytest.mark.parametrize("offset", [300, -300])
def test_a_timestamp_at_the_edge_of_the_tolerance_is_accepted(offset: int) -> None:
    verify(SPEC_BODY, spec_headers(), SPEC_SECRET, now=at(SPEC_TIMESTAMP + offset))


def test_the_tolerance_can_be_narrowed() -> None:
    now = at(SPEC_TIMESTAMP + 31)
    tolerance = timedelta(seconds=30)
    assert "timestamp_too_old" == reason(SPEC_BODY, spec_headers(), now=now, tolerance=tolerance)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(header: str) -> None:
    headers = spec_headers()
    del headers[header]
    assert "missing_header" == reason(SPEC_BODY, headers, now=at(SPEC_TIMESTAMP))


@pytest.mark.parametrize(
    "value",
    ["", "1614265330.5", "-1614265330", "１６１４２６５３３０", "soon", "9" * 5000],
    ids=["empty", "fraction", "negative", "full-width", "word", "5000-digits"],
)
def test_a_timestamp_that_is_not_whole_unix_seconds_is_refused(value: str) -> None:
    headers = spec_headers()
    headers["webhook-timestamp"] = value
    assert "malformed_header" == reason(SPEC_BODY, headers, now=at(SPEC_TIMESTAMP))


def test_a_signature_in_another_base64_spelling_is_refused() -> None:
    # The last character's unused bits make E and F decode to the same bytes here.
    headers = spec_headers()
    headers["webhook-signature"] = SPEC_SIGNATURE[:-2] + "F="
    assert base64.b64decode(SPEC_SIGNATURE[3:]) == base64.b64decode(SPEC_SIGNATURE[3:-2] + "F=")
    assert "no_matching_signature" == reason(SPEC_BODY, headers, now=at(SPEC_TIMESTAMP))


@pytest.mark.parametrize(
    "secrets",
    [[], ["whsec_"], ["whsec_not base64!"], ["   "]],
    ids=["none", "empty", "bad", "blank"],
)
def test_verifying_with_a_malformed_secret_is_a_validation_error(secrets: list[str]) -> None:
    with pytest.raises(ValidationError):
        verify(SPEC_BODY, spec_headers(), secrets, now=at(SPEC_TIMESTAMP))


def test_verifying_at_a_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        verify(SPEC_BODY, spec_headers(), SPEC_SECRET, now=datetime(2021, 2, 25, 15, 2, 10))
    assert "now" == caught.value.field


def test_signing_at_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        sign(SPEC_ID, datetime(2026, 11, 23, 9, 0), SPEC_BODY, SPEC_SECRET)
    assert "timestamp" == caught.value.field


# -- any changed byte fails -----------------------------------------------------------------------


@given(webhook_deliveries(), st.data())
def test_flipping_any_byte_of_the_body_fails_verification(
    delivery: tuple[str, int, bytes], data: st.DataObject
) -> None:
    msg_id, timestamp, body = delivery
    headers = signature_headers(msg_id, timestamp, body, SPEC_SECRET)
    index = data.draw(st.integers(0, len(body) - 1))
    mask = data.draw(st.integers(1, 255))
    changed = body[:index] + bytes([body[index] ^ mask]) + body[index + 1 :]
    with pytest.raises(WebhookVerificationError):
        verify(changed, headers, SPEC_SECRET, now=at(timestamp))


@given(
    webhook_deliveries(),
    st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
    st.data(),
)
def test_flipping_any_character_of_a_header_fails_verification(
    delivery: tuple[str, int, bytes], header: str, data: st.DataObject
) -> None:
    msg_id, timestamp, body = delivery
    headers = signature_headers(msg_id, timestamp, body, SPEC_SECRET)
    verify(body, headers, SPEC_SECRET, now=at(timestamp))  # as sent, it verifies
    headers[header] = data.draw(flipped_text(headers[header]))
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, SPEC_SECRET, now=at(timestamp))


# -- no httpx needed ---------------------------------------------------------------------------


def run_without_httpx(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import httpx`` fails."""
    blocker = (
        "import sys\n"
        "class NoHttpx:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'httpx' or name.startswith('httpx.'):\n"
        "            raise ImportError('No module named httpx (blocked by the test)')\n"
        "sys.meta_path.insert(0, NoHttpx())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + code], capture_output=True, text=True, timeout=60
    )


def test_receivers_verify_and_the_stdlib_channels_import_without_httpx() -> None:
    result = run_without_httpx(
        "import orderkit.notify.webhooks, orderkit.adapters.notify, orderkit.testing.channels\n"
        "assert 'httpx' not in sys.modules\n"
    )
    assert (0, "") == (result.returncode, result.stderr)


def test_the_webhook_channel_without_httpx_says_how_to_install_it() -> None:
    result = run_without_httpx("import orderkit.adapters.notify.webhook\n")
    assert "pip install 'orderkit[webhooks]'" in result.stderr
