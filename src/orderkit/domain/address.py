"""What an address check finds: problems that refuse an address, suspicions that flag it.

The values are the domain's; the validator that produces them, with its per-country data and
optional libraries, is an adapter (:mod:`orderkit.adapters.address`). ``AddressProblem`` is
defined beside :class:`~orderkit.errors.AddressInvalid`, which carries it.
"""

from __future__ import annotations

import attrs

from orderkit.domain.order import Address
from orderkit.errors import AddressProblem

__all__ = ["ADDRESS_REVIEW_TAG", "AddressProblem", "AddressReport", "Suspicion"]

ADDRESS_REVIEW_TAG = "address-review"
"""The tag :class:`~orderkit.service.OrderService` puts on an order whose address is flagged."""


@attrs.frozen
class Suspicion:
    """Why a valid address deserves a look before the parcel goes out."""

    field: str
    code: str
    message: str


@attrs.frozen
class AddressReport:
    """The outcome of checking one address: the normalized address and what was found."""

    address: Address
    problems: tuple[AddressProblem, ...] = ()
    suspicions: tuple[Suspicion, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems
