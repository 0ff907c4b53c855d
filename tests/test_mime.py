"""The email every SMTP and .eml delivery is built from: any subject and body survive the
trip through RFC 5322 and MIME encoding."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings

from orderkit.adapters.notify import build_email
from orderkit.testing.channels import received_from_email, sample_message
from strategies import body_text, header_text

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@settings(max_examples=100)
# Email headers do not keep a value's leading and trailing whitespace (it is folding space).
@given(subject=header_text().map(str.strip), text=body_text(), html=body_text())
def test_any_subject_text_and_html_survive_building_and_parsing_the_email(
    subject: str, text: str, html: str
) -> None:
    message = sample_message(subject=subject, text=text, html=html)
    built = bytes(build_email(message, sender="Tea Shop <orders@tea.example>", date=NOW))
    received = received_from_email(built)
    assert (subject, text, html) == (
        received.subject,
        (received.text or "").replace("\r\n", "\n"),
        (received.html or "").replace("\r\n", "\n"),
    )
