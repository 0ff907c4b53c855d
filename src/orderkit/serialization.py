"""The one cattrs converter every adapter and export uses.

Money is stored as ``{"amount": "19.99", "currency": "USD"}`` (a string, never a float),
decimals as strings, datetimes as ISO 8601 with their UTC offset, edit operations as a
tagged union (``{"op": "ChangePrice", ...}``) and event payloads by their registered type
name. ``structure(unstructure(x)) == x`` for every model, which the tests check.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

import cattrs
from cattrs.strategies import configure_tagged_union

from orderkit.domain.events import EVENT_TYPES, RecordedEvent
from orderkit.domain.money import Money
from orderkit.domain.order import EditOp, Order
from orderkit.errors import ValidationError

__all__ = [
    "dumps",
    "event_from_dict",
    "event_to_dict",
    "get_converter",
    "loads",
    "make_converter",
    "order_from_json",
    "order_to_json",
    "payload_from_json",
    "payload_to_json",
]

T = TypeVar("T")


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def make_converter() -> cattrs.Converter:
    """Build a converter with orderkit's hooks. Hosts may extend their own copy."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, lambda v, _: Decimal(v))
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
    converter.register_unstructure_hook(
        Money, lambda m: {"amount": str(m.amount), "currency": m.currency}
    )
    converter.register_structure_hook(
        Money, lambda v, _: Money(Decimal(v["amount"]), v["currency"])
    )
    configure_tagged_union(EditOp, converter, tag_name="op")
    return converter


@lru_cache(maxsize=1)
def get_converter() -> cattrs.Converter:
    """The shared converter, built on first use (never at import time)."""
    return make_converter()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text)


def order_to_json(order: Order) -> str:
    return dumps(get_converter().unstructure(order, Order))


def order_from_json(text: str) -> Order:
    return get_converter().structure(loads(text), Order)


def payload_to_json(payload: object) -> str:
    return dumps(get_converter().unstructure(payload, type(payload)))


def payload_from_json(type_name: str, text: str) -> object:
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise ValidationError("type", f"unknown event type {type_name!r}") from None
    return get_converter().structure(loads(text), cls)


def event_to_dict(event: RecordedEvent) -> dict[str, Any]:
    """A JSON-ready dict of a recorded event, for export."""
    return {
        "position": event.position,
        "stream": event.stream,
        "type": event.type,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "reason": event.reason,
        "payload": get_converter().unstructure(event.payload, type(event.payload)),
    }


def event_from_dict(data: dict[str, Any]) -> RecordedEvent:
    """The inverse of :func:`event_to_dict`."""
    cls = EVENT_TYPES.get(data["type"])
    if cls is None:
        raise ValidationError("type", f"unknown event type {data['type']!r}")
    return RecordedEvent(
        position=data["position"],
        stream=data["stream"],
        type=data["type"],
        at=datetime.fromisoformat(data["at"]),
        actor=data["actor"],
        reason=data["reason"],
        payload=get_converter().structure(data["payload"], cls),
    )
