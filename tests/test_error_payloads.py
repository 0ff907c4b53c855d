"""Every error answers a web host: a suggested HTTP status, and itself as JSON-ready data."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import orderkit.errors as errors
from orderkit import (
    AddressInvalid,
    AddressProblem,
    ConcurrencyConflict,
    Money,
    OrderkitError,
    OrderNotFound,
    OutOfStock,
    RefundExceedsPayment,
    TransientStorageError,
    ValidationError,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
ERRORS = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), OrderkitError)
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_suggests_an_http_error_status(error: type[OrderkitError]) -> None:
    assert 400 <= error.http_status <= 599


def test_the_table_in_the_docs_is_the_one_in_the_code() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\d+) \|$", DOC.read_text(), re.M))

    assert {(e.__name__, e.code, str(e.http_status)) for e in ERRORS} == documented


def test_a_validation_error_names_its_field() -> None:
    error = ValidationError("lines[1].quantity", "must be at least 1")

    assert {
        "code": "validation_error",
        "message": "lines[1].quantity: must be at least 1",
        "field": "lines[1].quantity",
    } == error.to_dict()


def test_an_errors_own_attributes_are_its_details() -> None:
    error = OutOfStock("MUG", "default", 3, 1)

    assert {"sku": "MUG", "location": "default", "requested": 3, "available": 1} == {
        key: value
        for key, value in error.to_dict()["details"].items()  # type: ignore[union-attr]
        if key in ("sku", "location", "requested", "available")
    }


def test_address_problems_become_plain_objects() -> None:
    problem = AddressProblem("postal_code", "pattern", "does not match the pattern for DE")
    error = AddressInvalid("shipping_address.postal_code", "no such code", (problem,))

    details = error.to_dict()["details"]

    assert {
        "problems": [
            {
                "field": "postal_code",
                "code": "pattern",
                "message": "does not match the pattern for DE",
            }
        ]
    } == details


@pytest.mark.parametrize(
    "error",
    [
        OrderNotFound("ord-1"),
        RefundExceedsPayment("order SO-1 holds 5.00 EUR; cannot refund 6.00 EUR"),
        ConcurrencyConflict("order ord-1 changed"),
        TransientStorageError("database is locked"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_the_dict_is_json_ready(error: OrderkitError) -> None:
    assert error.to_dict() == json.loads(json.dumps(error.to_dict()))


def test_money_and_times_in_details_are_text() -> None:
    error = OrderkitError("late")
    error.amount = Money("5.00", "EUR")  # type: ignore[attr-defined]
    error.at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # type: ignore[attr-defined]

    assert {
        "amount": {"amount": "5.00", "currency": "EUR"},
        "at": "2026-12-01T09:00:00+00:00",
    } == error.to_dict()["details"]


def test_statuses_follow_what_the_error_means() -> None:
    assert (404, 409, 422, 503) == (
        OrderNotFound.http_status,
        ConcurrencyConflict.http_status,
        ValidationError.http_status,
        TransientStorageError.http_status,
    )
