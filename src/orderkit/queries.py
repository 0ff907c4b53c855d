"""The query values the storage port is handed and returns: :class:`OrderQuery`,
:class:`Page` and :class:`IdempotencyRecord`.

A query checks itself when it is made, so every adapter is handed a well-formed one. The
protocols that take them are in :mod:`orderkit.ports`, which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from orderkit.domain.checks import optional_text, optional_utc
from orderkit.domain.normalize import normalize_tag
from orderkit.domain.order import Order
from orderkit.domain.tracking_numbers import normalize_tracking_number
from orderkit.errors import ValidationError
from orderkit.notify.outbox import check_limit

__all__ = ["IdempotencyRecord", "OrderQuery", "Page"]


def _values(field: str, value: object) -> frozenset[str] | None:
    """One value or several (any iterable but a mapping) as a frozenset; None for any."""
    if value is None:
        return None
    if isinstance(value, str):
        values: tuple[object, ...] = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, (Mapping, bytes)):
        values = tuple(value)
        if not values:
            raise ValidationError(field, "give at least one value, or None to match any")
    else:
        values = (value,)
    for item in values:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(
                field, f"must be a non-empty string or several of them, not {item!r}"
            )
    return frozenset(str(item) for item in values)


def _statuses(value: str | Iterable[str] | None) -> frozenset[str] | None:
    return _values("status", value)


def _channels(value: str | Iterable[str] | None) -> frozenset[str] | None:
    return _values("channel", value)


def _query_tags(value: str | Iterable[str] | None) -> frozenset[str] | None:
    tags = _values("tag", value)
    return None if tags is None else frozenset(normalize_tag(tag) for tag in tags)


def _tracking(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            "tracking_number", f"must be a non-empty string or None, not {value!r}"
        )
    return normalize_tracking_number(value)


def _parcel(instance: OrderQuery) -> None:
    if (instance.carrier is None) != (instance.tracking_number is None):
        raise ValidationError(
            "carrier" if instance.carrier is None else "tracking_number",
            "give carrier and tracking_number together: a number names a parcel of one carrier",
        )


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, f"must be True or False, not {value!r}")


@attrs.frozen
class OrderQuery:
    """Filters for :meth:`orderkit.ports.OrderRepository.find`; every filter given must match.

    ``status``, ``channel`` and ``tag`` take one value or several (any iterable of strings);
    an order matches when it has any of them. Tags are compared normalized (see
    :func:`orderkit.domain.normalize.normalize_tag`). ``placed_from`` is inclusive and
    ``placed_to`` exclusive. Results are newest first; pass a page's ``next_cursor`` back as
    ``cursor`` for the next page. With ``with_total``, the page also counts every matching
    order (:attr:`Page.total`), for showing "41 orders" above a paged list.

    A query checks itself when it is made, so every adapter is handed a well-formed one.
    Whether each status is one the shop's status machine has is checked by
    :meth:`orderkit.OrderService.find`, which knows the machine.

    Raises:
        ValidationError: naming the filter: a value that is not a non-empty string (an
            integer customer id, say), an empty list of values, a naive datetime, a limit
            outside 1..1000, a carrier without a tracking number or the reverse.
    """

    number: str | None = attrs.field(default=None, validator=optional_text)
    carrier: str | None = attrs.field(default=None, validator=optional_text)
    tracking_number: str | None = attrs.field(default=None, converter=_tracking)
    customer_id: str | None = attrs.field(default=None, validator=optional_text)
    status: frozenset[str] | None = attrs.field(default=None, converter=_statuses)
    channel: frozenset[str] | None = attrs.field(default=None, converter=_channels)
    tag: frozenset[str] | None = attrs.field(default=None, converter=_query_tags)
    group: str | None = attrs.field(default=None, validator=optional_text)
    placed_from: datetime | None = attrs.field(default=None, validator=optional_utc)
    placed_to: datetime | None = attrs.field(default=None, validator=optional_utc)
    limit: int = attrs.field(default=50, validator=check_limit)
    cursor: str | None = attrs.field(default=None, validator=optional_text)
    with_total: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        _parcel(self)

    def refine(self, **filters: Any) -> OrderQuery:
        """This query with ``filters`` (keyword names of its fields) replaced.

        Raises:
            ValidationError: a name that is not a filter (``field`` is the name), or a value
                the filter refuses.
        """
        names = attrs.fields_dict(OrderQuery)
        for name in filters:
            if name not in names:
                raise ValidationError(name, f"is not a query filter; filters: {', '.join(names)}")
        return attrs.evolve(self, **filters)

    def require_statuses(self, known: Collection[str]) -> None:
        """Refuse a status that is not in ``known`` (the states of the shop's machine).

        Raises:
            ValidationError: ``field`` is ``status``; the message lists the known states.
        """
        unknown = sorted((self.status or frozenset()) - set(known))
        if unknown:
            raise ValidationError(
                "status",
                f"{', '.join(map(repr, unknown))} is not a status of this shop; statuses: "
                + ", ".join(known),
            )


@attrs.frozen
class Page:
    """One page of orders. ``total`` counts every order matching the query, all pages
    together, when the query asked ``with_total``; it is None otherwise."""

    items: tuple[Order, ...]
    next_cursor: str | None
    total: int | None = None


@attrs.frozen
class IdempotencyRecord:
    key: str
    command: str
    request_hash: str
    result_id: str
    created_at: datetime
