"""Looking orders up and finding them page by page, over any storage."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from orderkit.clock import FixedClock, SequentialIds
from orderkit.domain.order import (
    Order,
)
from orderkit.errors import (
    OrderNotFound,
    ValidationError,
)
from orderkit.ports import OrderQuery, Storage
from orderkit.service import OrderService
from orderkit.testing.builders import (
    START,
)
from orderkit.testing.service.base import ServiceFixtures

__all__ = ["QueryBehaviour"]


class QueryBehaviour(ServiceFixtures):
    """Looking orders up and finding them page by page, over any storage."""

    # -- queries -------------------------------------------------------------------------------

    def test_getting_an_unknown_order_raises_order_not_found_which_is_a_lookup_error(
        self, service: OrderService
    ) -> None:
        with pytest.raises(LookupError) as refused:
            service.get("no-such-order")
        assert OrderNotFound is type(refused.value)

    def test_an_order_is_found_by_its_number(self, service: OrderService) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 1))
        second = self.place(service, ("TEE", 1))
        assert second == service.get_by_number("SO-2026-000002")

    def test_an_unknown_number_raises_order_not_found(self, service: OrderService) -> None:
        with pytest.raises(OrderNotFound) as refused:
            service.get_by_number("SO-2026-999999")
        assert "SO-2026-999999" == refused.value.ref

    def _orders_for_queries(self, service: OrderService, clock: FixedClock) -> dict[str, Order]:
        """a 09:00 c-1 web north vip; b 10:00 c-2 app south paid; c 11:00 c-1 pos gift;
        d 11:00 c-3 web north cancelled."""
        self.stock_catalog(service)
        a = self.place(service, ("MUG", 1), group="north", tags=["vip"])
        clock.set(START + timedelta(hours=1))
        b = self.paid_order(service, ("TEE", 1), customer_id="c-2", channel="app", group="south")
        clock.set(START + timedelta(hours=2))
        c = self.place(service, ("CAP", 1), channel="pos", tags=["gift"])
        d = self.place(service, ("CAP", 2), customer_id="c-3", group="north")
        service.cancel(d.id, actor="cs", reason="duplicate")
        return {"a": a, "b": b, "c": c, "d": d}

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, "dcba"),
            ({"customer_id": "c-1"}, "ca"),
            ({"customer_id": "c-9"}, ""),
            ({"status": "awaiting_shipment"}, "b"),
            ({"status": "closed"}, "d"),
            ({"channel": "web"}, "da"),
            ({"tag": "vip"}, "a"),
            ({"group": "north"}, "da"),
            ({"placed_from": START + timedelta(hours=1)}, "dcb"),
            ({"placed_to": START + timedelta(hours=2)}, "ba"),
            (
                {
                    "placed_from": START + timedelta(hours=1),
                    "placed_to": START + timedelta(hours=2),
                },
                "b",
            ),
            ({"customer_id": "c-1", "channel": "pos"}, "c"),
            ({"group": "north", "status": "pending_payment"}, "a"),
            ({"status": ["awaiting_shipment", "closed"]}, "db"),
            ({"channel": ("web", "pos")}, "dca"),
            ({"tag": {"vip", "gift"}}, "ca"),
            ({"tag": "VIP"}, "a"),
            ({"status": frozenset({"closed", "pending_payment"}), "channel": "web"}, "da"),
        ],
        ids=[
            "no-filter",
            "customer",
            "unknown-customer",
            "status",
            "status-closed",
            "channel",
            "tag",
            "group",
            "placed-from-inclusive",
            "placed-to-exclusive",
            "placed-range",
            "customer-and-channel",
            "group-and-status",
            "several-statuses",
            "several-channels",
            "several-tags",
            "tag-in-another-case",
            "several-statuses-and-a-channel",
        ],
    )
    def test_find_returns_the_orders_matching_every_filter_newest_first(
        self,
        service: OrderService,
        clock: FixedClock,
        filters: dict[str, Any],
        expected: str,
    ) -> None:
        orders = self._orders_for_queries(service, clock)
        assert [orders[name].id for name in expected] == [
            o.id for o in service.find(**filters).items
        ]

    def _place_over_time(self, service: OrderService, clock: FixedClock) -> list[Order]:
        """Seven orders, several sharing a timestamp, so paging must break ties by id."""
        self.stock_catalog(service)
        placed = []
        for minute in (0, 0, 0, 1, 1, 2, 2):
            clock.set(START + timedelta(minutes=minute))
            placed.append(self.place(service, ("CAP", 1)))
        return placed

    @staticmethod
    def _all_pages(service: OrderService, **filters: Any) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        for _ in range(50):  # far more than any test needs; a cursor that loops fails here
            page = service.find(cursor=cursor, **filters)
            pages.append([o.id for o in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor
        pytest.fail("paging did not end after 50 pages")

    @pytest.mark.parametrize("limit", [1, 3, 7])
    def test_paging_returns_every_order_exactly_once_newest_first(
        self, service: OrderService, clock: FixedClock, limit: int
    ) -> None:
        placed = self._place_over_time(service, clock)
        pages = self._all_pages(service, limit=limit)
        assert ([o.id for o in reversed(placed)], math.ceil(7 / limit)) == (
            [order_id for page in pages for order_id in page],
            len(pages),
        )

    def test_paging_keeps_the_filters_on_every_page(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        placed = self._place_over_time(service, clock)
        for order in placed[::2]:
            service.pay(order.id, order.total, reference=f"psp-{order.id}")
        pages = self._all_pages(service, limit=2, status="pending_payment")
        assert [[placed[5].id, placed[3].id], [placed[1].id]] == pages

    @pytest.mark.parametrize(
        "cursor",
        [
            "not-a-cursor",
            "|id-000001",
            "2026-11-23T09:00:00+00:00|",
            "yesterday|id-000001",
            "2026-11-23T09:00:00|id-000001",
        ],
        ids=["garbage", "no-time", "no-id", "bad-time", "time-without-offset"],
    )
    def test_a_malformed_cursor_raises_validation_error(
        self, service: OrderService, cursor: str
    ) -> None:
        self.stock_catalog(service)
        self.place(service, ("MUG", 1))
        with pytest.raises(ValidationError) as refused:
            service.find(cursor=cursor)
        assert "cursor" == refused.value.field

    @pytest.mark.parametrize("limit", [0, -1, 1001])
    def test_a_limit_outside_one_to_a_thousand_raises_validation_error(
        self, service: OrderService, limit: int
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            service.find(limit=limit)
        assert "limit" == refused.value.field

    @pytest.mark.parametrize("field", ["placed_from", "placed_to"])
    def test_finding_orders_with_a_naive_datetime_raises_validation_error_naming_the_field(
        self, service: OrderService, field: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            OrderQuery(**{field: datetime(2026, 1, 1)})  # type: ignore[arg-type]
        assert field == refused.value.field

    @pytest.mark.parametrize(
        ("filters", "field"),
        [
            ({"customer_id": 7}, "customer_id"),
            ({"status": 3}, "status"),
            ({"status": []}, "status"),
            ({"channel": ["web", None]}, "channel"),
            ({"tag": ("vip", 5)}, "tag"),
            ({"tag": " "}, "tag"),
            ({"group": ["north"]}, "group"),
            ({"cursor": 12}, "cursor"),
            ({"limit": "10"}, "limit"),
            ({"with_total": "yes"}, "with_total"),
            ({"stauts": "closed"}, "stauts"),
        ],
        ids=[
            "integer-customer",
            "integer-status",
            "no-statuses",
            "none-among-channels",
            "integer-among-tags",
            "blank-tag",
            "list-of-groups",
            "integer-cursor",
            "text-limit",
            "text-with-total",
            "misspelt-filter",
        ],
    )
    def test_a_malformed_filter_raises_validation_error_naming_it_on_every_backend(
        self, service: OrderService, clock: FixedClock, filters: dict[str, Any], field: str
    ) -> None:
        self._orders_for_queries(service, clock)
        with pytest.raises(ValidationError) as refused:
            service.find(**filters)
        assert field == refused.value.field

    def test_an_unknown_status_raises_validation_error_listing_the_statuses(
        self, service: OrderService
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            service.find(status=["pending_payment", "shiped"])
        assert (
            "status: 'shiped' is not a status of this shop; statuses: "
            + ", ".join(service.machine.states)
        ) == str(refused.value)

    def test_a_status_a_host_machine_adds_can_be_queried(
        self, storage: Storage, clock: FixedClock, ids: SequentialIds
    ) -> None:
        service = self.with_review(storage, clock, ids)
        self.stock_catalog(service)
        held_for_review = self.paid_order(service, ("MUG", 1))
        self.place(service, ("MUG", 1))
        assert [held_for_review.id] == [o.id for o in service.find(status="awaiting_review").items]

    def test_a_page_with_total_counts_every_matching_order_on_every_page(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        placed = self._place_over_time(service, clock)
        service.cancel(placed[0].id, actor="cs", reason="duplicate")
        first = service.find(limit=4, with_total=True, status="pending_payment")
        second = service.find(
            limit=4, with_total=True, status="pending_payment", cursor=first.next_cursor
        )
        assert ((4, 6), (2, 6)) == (
            (len(first.items), first.total),
            (len(second.items), second.total),
        )

    def test_a_page_without_total_does_not_count(
        self, service: OrderService, clock: FixedClock
    ) -> None:
        self._place_over_time(service, clock)
        assert None is service.find(limit=2).total

    def test_a_total_with_nothing_matching_is_zero(self, service: OrderService) -> None:
        assert (0, ()) == (
            service.find(customer_id="nobody", with_total=True).total,
            service.find(customer_id="nobody", with_total=True).items,
        )
