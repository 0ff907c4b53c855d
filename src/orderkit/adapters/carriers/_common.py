"""What every shipped carrier checks the same way, so they raise the same errors."""

from __future__ import annotations

from collections.abc import Sequence

from orderkit.errors import ValidationError
from orderkit.shipping import Parcel

__all__ = ["check_parcels"]


def check_parcels(parcels: Sequence[Parcel]) -> tuple[Parcel, ...]:
    """``parcels`` as a tuple, each a :class:`Parcel` with a positive weight and item count.

    Raises:
        ValidationError: no parcels, or a parcel that is not one or weighs nothing;
            ``field`` names it (``parcels[1].weight_grams``).
    """
    checked = tuple(parcels)
    if not checked:
        raise ValidationError("parcels", "give at least one Parcel to quote or ship")
    for i, parcel in enumerate(checked):
        if not isinstance(parcel, Parcel):
            raise ValidationError(
                f"parcels[{i}]", f"must be an orderkit.shipping.Parcel, not {parcel!r}"
            )
        for name in ("weight_grams", "items"):
            value = getattr(parcel, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(
                    f"parcels[{i}].{name}", f"must be a whole number of at least 1, not {value!r}"
                )
    return checked
