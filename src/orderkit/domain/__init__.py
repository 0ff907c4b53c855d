"""The order domain: values and rules, with no I/O, no clock and no environment.

Money, orders and their derived totals, the status machine and the default order lifecycle,
edits, inventory, after-sales, shipping values, tracking-number formats, receipts as
immutable snapshots, and the domain events. Nothing here imports an adapter, a driver,
jinja2 or a network library; import from the modules (or from :mod:`orderkit`).
"""
