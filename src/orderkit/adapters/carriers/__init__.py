"""Carriers: implementations of :class:`orderkit.ports.Carrier` that need no network.

- :class:`TableRateCarrier` prices from a JSON rate table (zones, weight bands, fees, free
  shipping) and issues its own tracking numbers;
- :class:`ManualCarrier` takes the carrier and tracking number the merchant typed in,
  checked against the carrier's format and check digit;
- :class:`SimulatedCarrier` moves parcels through scripted scenarios as a clock advances.

None of them imports anything beyond the standard library and orderkit itself.
"""

from orderkit.adapters.carriers.manual import ManualCarrier
from orderkit.adapters.carriers.simulated import SCENARIOS, SimulatedCarrier
from orderkit.adapters.carriers.table_rate import RateTable, TableRateCarrier, example_rate_table

__all__ = [
    "SCENARIOS",
    "ManualCarrier",
    "RateTable",
    "SimulatedCarrier",
    "TableRateCarrier",
    "example_rate_table",
]
