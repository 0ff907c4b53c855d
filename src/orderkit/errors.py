"""Every failure a caller can cause, as one rooted hierarchy.

Each error carries a stable ``code`` (safe to match on, log and show to support staff) and a
message that says what went wrong and what to do about it. Where the meaning matches a
builtin, the error subclasses it too, so ``except ValueError`` keeps working for callers who
do not know orderkit.

::

    OrderkitError
    ├── ValidationError (ValueError)          bad input; ``field`` names it
    │   ├── UnknownCurrency
    │   ├── CurrencyExponentInUse             an exponent changed after amounts were made
    │   ├── InvalidStockAdjustment
    │   ├── AddressInvalid                    an address that cannot be delivered to
    │   ├── InvalidMessage                    a message no channel may send (also a
    │   │                                     DeliveryFailed that is never retryable)
    │   └── InvalidTrackingLink               a click link not signed with the host's secret
    ├── CurrencyMismatch (ValueError)         arithmetic across two currencies
    ├── NotFound (LookupError)
    │   ├── OrderNotFound
    │   ├── EditNotFound
    │   ├── OutboxEntryNotFound
    │   ├── ReturnNotFound
    │   └── ShipmentNotFound                  no parcel with this carrier and tracking number
    ├── InvalidTransition                     the status machine refused an event
    │   └── GuardRefused                      … because a named guard said no
    ├── MachineDefinitionError (ValueError)   a status machine that cannot be built
    ├── OutOfStock                            not enough available stock to reserve
    │   └── UnknownSku                        … because the SKU has no stock record at all
    ├── PaymentError
    │   ├── Overpayment
    │   ├── RefundExceedsPayment
    │   ├── RefundNotRecorded                 the provider paid; recording it failed
    │   └── PaymentReferenceConflict          a provider reference already recorded for
    │                                         another amount or another refund
    ├── EditError
    │   ├── EditNotAllowed
    │   └── SelfApproval
    ├── AfterSalesError
    │   ├── ReturnNotAllowed                  more units than can go back, a kind refused
    │   └── ReturnWindowClosed                the policy's days after delivery have passed
    ├── DeliveryFailed                        a channel could not deliver a message
    ├── OutboxStateError                      an outbox entry is not in the state asked for
    ├── WebhookVerificationError (ValueError)  a received webhook failed its signature check
    ├── CarrierError                          a carrier refused or could not be reached
    │   ├── InvalidTrackingNumber (ValueError)  not a number this carrier issues
    │   └── CarrierConfigError (ValueError)     a carrier's data file is wrong; names the entry
    ├── RenderError                           a receipt template could not be rendered
    │   ├── TemplateMissing (LookupError)       no loader has a template of that name
    │   ├── TemplateSyntaxInvalid               a template does not parse; names it and the line
    │   ├── SandboxViolation                    a sandboxed template reached for internals
    │   ├── RenderLimitExceeded                 output too large or rendering too slow
    │   └── UnsafeSubject (ValueError)          a rendered subject holds CR or LF
    ├── IdempotencyConflict                   same key, different request
    ├── ConcurrencyConflict                   someone else changed it first (retryable)
    │   └── LeaseLost                         an outbox claim ran out and was taken over
    └── StorageError
        ├── TransientStorageError             busy / serialization failure (retryable)
        └── SchemaVersionError                database written by a newer orderkit

A command that raises any of these has changed nothing in storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

__all__ = [
    "AddressInvalid",
    "AfterSalesError",
    "CarrierConfigError",
    "CarrierError",
    "ConcurrencyConflict",
    "CurrencyExponentInUse",
    "CurrencyMismatch",
    "DeliveryFailed",
    "EditError",
    "EditNotAllowed",
    "EditNotFound",
    "GuardRefused",
    "IdempotencyConflict",
    "InvalidMessage",
    "InvalidStockAdjustment",
    "InvalidTrackingLink",
    "InvalidTrackingNumber",
    "InvalidTransition",
    "LeaseLost",
    "MachineDefinitionError",
    "NotFound",
    "OrderNotFound",
    "OrderkitError",
    "OutOfStock",
    "OutboxEntryNotFound",
    "OutboxStateError",
    "Overpayment",
    "PaymentError",
    "PaymentReferenceConflict",
    "RefundExceedsPayment",
    "RefundNotRecorded",
    "RenderError",
    "RenderLimitExceeded",
    "ReturnNotAllowed",
    "ReturnNotFound",
    "ReturnWindowClosed",
    "SandboxViolation",
    "SchemaVersionError",
    "SelfApproval",
    "ShipmentNotFound",
    "StorageError",
    "TemplateMissing",
    "TemplateSyntaxInvalid",
    "TransientStorageError",
    "UnknownCurrency",
    "UnknownSku",
    "UnsafeSubject",
    "ValidationError",
    "WebhookVerificationError",
]


@attrs.frozen
class AddressProblem:
    """Why an address cannot be used; ``field`` is the address attribute (``postal_code``, …)."""

    field: str
    code: str
    message: str


class OrderkitError(Exception):
    """Base of every error orderkit raises on purpose.

    ``code`` is stable; ``http_status`` is the status a web host would answer with
    (docs/errors.md has the whole table); :meth:`to_dict` is the error as JSON-ready data.
    """

    code: str = "orderkit_error"
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        """The error as JSON-ready data: ``code``, ``message``, ``field`` (when it names one)
        and ``details``, the error's own attributes (the order id, the SKU, the problems …).

        >>> OrderNotFound("ord-9").to_dict()["details"]
        {'ref': 'ord-9'}
        """
        data: dict[str, object] = {"code": self.code, "message": self.message}
        field = getattr(self, "field", None)
        if isinstance(field, str):
            data["field"] = field
        details = {
            name: _json_ready(value)
            for name, value in vars(self).items()
            if name not in ("message", "field") and not name.startswith("_")
        }
        if details:
            data["details"] = details
        return data


def _json_ready(value: object) -> object:
    """``value`` as JSON-ready data: attrs values as dicts, amounts and times as text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    kind = type(value)
    if attrs.has(kind):
        return {f.name: _json_ready(getattr(value, f.name)) for f in attrs.fields(kind)}
    return str(value)


class ValidationError(OrderkitError, ValueError):
    """An argument is malformed; ``field`` names it (dotted path, e.g. ``lines[1].quantity``)."""

    code = "validation_error"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownCurrency(ValidationError):
    """A currency code that is neither in orderkit's ISO 4217 table nor added by the host."""

    code = "unknown_currency"

    def __init__(self, currency: str, field: str = "currency") -> None:
        super().__init__(
            field,
            f"{currency!r} is not an ISO 4217 currency code; use a three-letter code "
            "such as 'USD', 'EUR', 'CNY' or 'JPY'",
        )
        self.currency = currency


class CurrencyExponentInUse(ValidationError):
    """A currency's minor units changed after amounts in it were made in this process."""

    code = "currency_exponent_in_use"
    http_status = 409

    def __init__(self, currency: str, in_use: int, asked: int) -> None:
        super().__init__(
            "minor_units",
            f"{currency} already has {in_use} minor units in this process and amounts were "
            f"made with them; {asked} would change what they mean. Set exponents once, at "
            "start-up, before any Money in the currency is made",
        )
        self.currency = currency
        self.in_use = in_use
        self.asked = asked


class InvalidStockAdjustment(ValidationError):
    """A stock change that would leave on-hand below zero or below what is reserved."""

    code = "invalid_stock_adjustment"


class AddressInvalid(ValidationError):
    """An address that fails validation; ``field`` names the first bad part
    (``shipping_address.postal_code``) and ``problems`` lists every one found."""

    code = "address_invalid"

    def __init__(self, field: str, message: str, problems: Sequence[AddressProblem] = ()) -> None:
        super().__init__(field, message)
        self.problems = tuple(problems)


class CurrencyMismatch(OrderkitError, ValueError):
    """Money in two currencies met in one calculation."""

    code = "currency_mismatch"
    http_status = 422

    def __init__(self, left: str, right: str) -> None:
        super().__init__(
            f"cannot combine {left} with {right}; convert one amount first, orderkit "
            "never converts currencies implicitly"
        )
        self.left = left
        self.right = right


class NotFound(OrderkitError, LookupError):
    """Something asked for by identity does not exist."""

    code = "not_found"
    http_status = 404


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, ref: str, *, looks_like_number: bool = False) -> None:
        hint = (
            "it looks like an order number: look it up with get_by_number"
            if looks_like_number
            else "check the order id or number"
        )
        super().__init__(f"no order {ref!r}; {hint}")
        self.ref = ref


class EditNotFound(NotFound):
    code = "edit_not_found"

    def __init__(self, order_id: str, edit_id: str) -> None:
        super().__init__(
            f"order {order_id} has no pending edit {edit_id!r}; it may already have been "
            "approved or rejected (see the order's history)"
        )
        self.order_id = order_id
        self.edit_id = edit_id


class OutboxEntryNotFound(NotFound):
    code = "outbox_entry_not_found"

    def __init__(self, entry_id: str) -> None:
        super().__init__(
            f"no outbox entry {entry_id!r}; check the id (it is the message_id a channel was given)"
        )
        self.entry_id = entry_id


class ReturnNotFound(NotFound):
    code = "return_not_found"

    def __init__(self, order_id: str, return_id: str) -> None:
        super().__init__(
            f"order {order_id} has no return {return_id!r}; list them with order.returns"
        )
        self.order_id = order_id
        self.return_id = return_id


class ShipmentNotFound(NotFound):
    """No order has a parcel with this carrier and tracking number."""

    code = "shipment_not_found"

    def __init__(self, carrier: str, tracking_number: str) -> None:
        super().__init__(
            f"no shipment with carrier {carrier!r} and tracking number {tracking_number!r}; "
            "check the carrier code the order was shipped with"
        )
        self.carrier = carrier
        self.tracking_number = tracking_number


class InvalidTransition(OrderkitError):
    """The status machine has no transition for ``event`` from ``state``."""

    code = "invalid_transition"
    http_status = 409

    def __init__(
        self, state: str, event: str, allowed: Sequence[str], detail: str | None = None
    ) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (it is final)"
        message = detail or (
            f"cannot {event!r} in state {state!r}; allowed events from {state!r}: {allowed_text}"
        )
        super().__init__(message)
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)


class GuardRefused(InvalidTransition):
    """A transition exists, but one of its guards refused it, with a reason."""

    code = "guard_refused"

    def __init__(
        self, state: str, event: str, allowed: Sequence[str], guard: str, reason: str
    ) -> None:
        super().__init__(
            state,
            event,
            allowed,
            detail=f"cannot {event!r} from {state!r}: guard {guard!r} refused: {reason}",
        )
        self.guard = guard
        self.reason = reason


class MachineDefinitionError(OrderkitError, ValueError):
    """A status machine definition is inconsistent; raised when it is built."""

    code = "machine_definition_error"
    http_status = 500

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid status machine:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = tuple(problems)


class OutOfStock(OrderkitError):
    """Not enough available stock (on hand minus reserved) to reserve ``requested``."""

    code = "out_of_stock"
    http_status = 409

    def __init__(
        self, sku: str, location: str, requested: int, available: int, *, detail: str = ""
    ) -> None:
        super().__init__(
            detail
            or f"SKU {sku!r} at {location!r}: {requested} requested but only {available} "
            "available; lower the quantity or receive more stock"
        )
        self.sku = sku
        self.location = location
        self.requested = requested
        self.available = available


class UnknownSku(OutOfStock):
    """The SKU has no stock record at the location: never received, or mistyped.

    An :class:`OutOfStock` too (with nothing available), so handlers of that keep working.
    """

    code = "unknown_sku"
    http_status = 422

    def __init__(self, sku: str, location: str, requested: int) -> None:
        super().__init__(
            sku,
            location,
            requested,
            0,
            detail=f"SKU {sku!r} has no stock record at {location!r}: check the SKU, or "
            "receive stock for it first (OrderService.receive_stock)",
        )


class PaymentError(OrderkitError):
    code = "payment_error"
    http_status = 422


class Overpayment(PaymentError):
    code = "overpayment"


class RefundExceedsPayment(PaymentError):
    code = "refund_exceeds_payment"


class RefundNotRecorded(PaymentError):
    """The payment provider paid a refund, but recording it failed (the cause is chained).

    The money has gone out. Call the command again with the same ``idempotency_key``: the
    provider, honouring the key, pays nothing more and returns the same reference, and the
    refund is recorded. ``reference`` and ``idempotency_key`` are kept for reconciliation.
    """

    code = "refund_not_recorded"
    http_status = 500

    def __init__(self, order_id: str, reference: str, idempotency_key: str) -> None:
        super().__init__(
            f"order {order_id}: the provider paid refund {reference!r} (key "
            f"{idempotency_key!r}) but it was not recorded; call again with the same "
            "idempotency_key to record it"
        )
        self.order_id = order_id
        self.reference = reference
        self.idempotency_key = idempotency_key


class PaymentReferenceConflict(PaymentError):
    """The provider's reference is already recorded on the order for something else.

    A payment provider retries its notifications, so a payment (or refund) reported again
    with the same reference and amount changes nothing. The same reference with another
    amount, or naming another refund, is not a retry: check the provider's records, and
    give each payment or refund its own reference.
    """

    code = "payment_reference_conflict"
    http_status = 409

    def __init__(self, order_id: str, what: str, reference: str, recorded: str, asked: str) -> None:
        super().__init__(
            f"order {order_id}: {what} reference {reference!r} is recorded for {recorded}, "
            f"not {asked}; a retried notice repeats the same {what}, so check the provider "
            f"and give a different {what} its own reference"
        )
        self.order_id = order_id
        self.reference = reference


class EditError(OrderkitError):
    code = "edit_error"
    http_status = 409


class EditNotAllowed(EditError):
    code = "edit_not_allowed"


class SelfApproval(EditError):
    code = "self_approval"
    http_status = 403


class AfterSalesError(OrderkitError):
    code = "after_sales_error"
    http_status = 409


class ReturnNotAllowed(AfterSalesError):
    """A return the order cannot take: more units than were delivered (or are left to ship,
    for a refund-only), a parcel that is not lost, or a kind the shop's policy refuses."""

    code = "return_not_allowed"


class ReturnWindowClosed(AfterSalesError):
    """Goods delivered longer ago than the shop's return window allows."""

    code = "return_window_closed"

    def __init__(self, line_id: str, delivered_at: datetime, window_days: int) -> None:
        super().__init__(
            f"line {line_id} was delivered {delivered_at.isoformat()}; the return window of "
            f"{window_days} day(s) has closed, so only a goodwill refund "
            "(OrderService.refund) is possible"
        )
        self.line_id = line_id
        self.delivered_at = delivered_at
        self.window_days = window_days


class DeliveryFailed(OrderkitError):
    """A channel could not deliver a message.

    ``retryable`` is True when trying again later may succeed (a timeout, a busy server, an
    HTTP 5xx) and False when it cannot (a rejected address, an HTTP 4xx): the dispatcher
    retries the first with backoff and dead-letters the second at once.
    """

    code = "delivery_failed"
    http_status = 502

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class OutboxStateError(OrderkitError):
    """An outbox entry is not in the state an operation needs (re-sending a sent entry)."""

    code = "outbox_state_error"
    http_status = 409

    def __init__(self, entry_id: str, status: str, message: str) -> None:
        super().__init__(f"outbox entry {entry_id!r} is {status}: {message}")
        self.entry_id = entry_id
        self.status = status


class InvalidMessage(ValidationError, DeliveryFailed):
    """A message that must not be sent as it is: a CR or LF in a header value (subject,
    recipient, dedup key), a recipient the channel cannot address, data that is not JSON.

    Channels raise it before anything leaves the process. It is a :class:`ValidationError`
    (``field`` names the message attribute) and a :class:`DeliveryFailed` that is never
    retryable, so a dispatcher dead-letters it at once instead of sending it again.
    """

    code = "invalid_message"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        # Both bases take different arguments; set what each promises directly.
        OrderkitError.__init__(self, f"{field}: {message}")
        self.field = field
        self.retryable = False


class WebhookVerificationError(OrderkitError, ValueError):
    """A received webhook is not authentic or not fresh: reject the request (HTTP 400/401).

    ``reason`` is one of ``missing_header``, ``malformed_header``, ``timestamp_too_old``,
    ``timestamp_too_new`` and ``no_matching_signature``.
    """

    code = "webhook_verification_failed"
    http_status = 401

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CarrierError(OrderkitError):
    """A carrier refused a request (no service on the route, a parcel too heavy) or could
    not be reached."""

    code = "carrier_error"
    http_status = 502


class InvalidTrackingNumber(CarrierError, ValueError):
    """A tracking number that does not match its carrier's format or check digit."""

    code = "invalid_tracking_number"
    http_status = 422

    def __init__(self, carrier: str, tracking_number: str, why: str) -> None:
        super().__init__(
            f"{tracking_number!r} is not a valid {carrier} tracking number: {why}; "
            "check it against the carrier's label"
        )
        self.carrier = carrier
        self.tracking_number = tracking_number


class CarrierConfigError(CarrierError, ValueError):
    """A carrier's configuration (a rate table file) cannot be loaded.

    ``source`` names the file (or ``<mapping>``), ``path`` the entry as a JSON path
    (``zones[2].services.express.bands[1].max_grams``), and the message says what is wrong.
    """

    code = "carrier_config_error"
    http_status = 500

    def __init__(self, source: str, path: str, problem: str) -> None:
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.path = path
        self.problem = problem


class RenderError(OrderkitError):
    """A receipt template could not be rendered; ``template`` names it."""

    code = "render_error"
    http_status = 500

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"template {template!r}: {message}")
        self.template = template


class TemplateMissing(RenderError, LookupError):
    """No loader in the chain has a template of this name."""

    code = "template_missing"

    def __init__(self, template: str) -> None:
        super().__init__(
            template,
            "not found in any loader; add it to one of your loaders or check the name "
            "(templates are named <kind>.subject.txt, <kind>.txt and <kind>.html)",
        )


class TemplateSyntaxInvalid(RenderError):
    """A template does not parse; ``line`` is the 1-based line of the mistake."""

    code = "template_syntax_invalid"

    def __init__(self, template: str, line: int, message: str) -> None:
        super().__init__(template, f"line {line}: {message}; fix the template and save it again")
        self.line = line


class SandboxViolation(RenderError):
    """A sandboxed (merchant-edited) template tried to reach beyond the plain data it gets,
    or used a value the receipt does not have."""

    code = "sandbox_violation"


class RenderLimitExceeded(RenderError):
    """A sandboxed render produced more output, or ran longer, than the renderer allows."""

    code = "render_limit_exceeded"


class UnsafeSubject(RenderError, ValueError):
    """A rendered subject contains a line break, which would let text into mail headers."""

    code = "unsafe_subject"

    def __init__(self, template: str) -> None:
        super().__init__(
            template,
            "the rendered subject contains CR or LF; a subject is one line (check the "
            "template and the order's data, e.g. a customer name with a line break)",
        )


class InvalidTrackingLink(ValidationError):
    """A click-tracking link that was not signed with the host's secret: refuse to redirect."""

    code = "invalid_tracking_link"
    http_status = 403


class IdempotencyConflict(OrderkitError):
    """An idempotency key was reused for a different request."""

    code = "idempotency_conflict"
    http_status = 422

    def __init__(self, key: str, command: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different {command} request; "
            "use a new key for a new request, or resend the original request unchanged"
        )
        self.key = key
        self.command = command


class ConcurrencyConflict(OrderkitError):
    """The record changed between read and write. Retrying the command is safe."""

    code = "concurrency_conflict"
    http_status = 409


class LeaseLost(ConcurrencyConflict):
    """A dispatcher recorded an outcome for an outbox entry it no longer holds.

    Its claim ran out (``lease``) and another dispatcher claimed the entry again, or the
    entry was already recorded. The other dispatcher's outcome stands; the message may have
    been sent twice, which the entry's ``dedup_key`` lets the receiving side detect.
    """

    code = "lease_lost"

    def __init__(self, entry_id: str, attempt: int, status: str, attempts: int) -> None:
        super().__init__(
            f"outbox entry {entry_id!r} is no longer held by attempt {attempt} (it is "
            f"{status} after {attempts} attempts); lengthen the dispatcher's lease if sends "
            "take longer than it"
        )
        self.entry_id = entry_id
        self.attempt = attempt


class StorageError(OrderkitError):
    code = "storage_error"
    http_status = 500


class TransientStorageError(StorageError):
    """The database asked us to try again (busy, serialization failure, deadlock)."""

    code = "transient_storage_error"
    http_status = 503


class SchemaVersionError(StorageError):
    code = "schema_version_error"
    http_status = 500
