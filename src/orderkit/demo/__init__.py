"""``orderkit demo``: a small tea shop's trading fortnight, on the embedded SQLite default.

It stocks a catalog and takes orders from several channels in several currencies and
locales, with shipping fees quoted by the table-rate carrier. It edits one order with an
approval, takes payments, ships parcels booked with the simulated carrier (one of them goes
astray: a logistics exception) and one with a merchant-entered UPS number, feeds the
carrier's tracking into the orders until they are delivered, lets one buyer confirm receipt
and the rest complete automatically, handles a return with a refund and an exchange, reminds
and expires an unpaid order and cancels another. Every customer message goes through the
outbox: each is written as an ``.eml`` file, and each receipt also as text and HTML.

Each run is one more fortnight in the same shop file, so running it again in the same folder
works and adds to it.
"""

from orderkit.demo.story import run_demo

__all__ = ["run_demo"]
