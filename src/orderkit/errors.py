"""Every failure a caller can cause, as one rooted hierarchy.

Each error carries a stable ``code`` (safe to match on, log and show to support staff) and a
message that says what went wrong and what to do about it. Where the meaning matches a
builtin, the error subclasses it too, so ``except ValueError`` keeps working for callers who
do not know orderkit.

::

    OrderkitError
    ├── ValidationError (ValueError)          bad input; ``field`` names it
    │   ├── UnknownCurrency
    │   ├── InvalidStockAdjustment
    │   └── InvalidTrackingLink               a click link not signed with the host's secret
    ├── CurrencyMismatch (ValueError)         arithmetic across two currencies
    ├── NotFound (LookupError)
    │   ├── OrderNotFound
    │   └── EditNotFound
    ├── InvalidTransition                     the status machine refused an event
    │   └── GuardRefused                      … because a named guard said no
    ├── MachineDefinitionError (ValueError)   a status machine that cannot be built
    ├── OutOfStock                            not enough available stock to reserve
    ├── PaymentError
    │   ├── Overpayment
    │   └── RefundExceedsPayment
    ├── EditError
    │   ├── EditNotAllowed
    │   └── SelfApproval
    ├── DeliveryFailed                        a channel could not deliver a message
    ├── CarrierError                          a carrier refused or could not be reached
    │   └── InvalidTrackingNumber (ValueError)  not a number this carrier issues
    ├── RenderError                           a receipt template could not be rendered
    │   ├── TemplateMissing (LookupError)       no loader has a template of that name
    │   ├── TemplateSyntaxInvalid               a template does not parse; names it and the line
    │   ├── SandboxViolation                    a sandboxed template reached for internals
    │   ├── RenderLimitExceeded                 output too large or rendering too slow
    │   └── UnsafeSubject (ValueError)          a rendered subject holds CR or LF
    ├── IdempotencyConflict                   same key, different request
    ├── ConcurrencyConflict                   someone else changed it first (retryable)
    └── StorageError
        ├── TransientStorageError             busy / serialization failure (retryable)
        └── SchemaVersionError                database written by a newer orderkit

A command that raises any of these has changed nothing in storage.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CarrierError",
    "ConcurrencyConflict",
    "CurrencyMismatch",
    "DeliveryFailed",
    "EditError",
    "EditNotAllowed",
    "EditNotFound",
    "GuardRefused",
    "IdempotencyConflict",
    "InvalidStockAdjustment",
    "InvalidTrackingLink",
    "InvalidTrackingNumber",
    "InvalidTransition",
    "MachineDefinitionError",
    "NotFound",
    "OrderNotFound",
    "OrderkitError",
    "OutOfStock",
    "Overpayment",
    "PaymentError",
    "RefundExceedsPayment",
    "RenderError",
    "RenderLimitExceeded",
    "SandboxViolation",
    "SchemaVersionError",
    "SelfApproval",
    "StorageError",
    "TemplateMissing",
    "TemplateSyntaxInvalid",
    "TransientStorageError",
    "UnknownCurrency",
    "UnsafeSubject",
    "ValidationError",
]


class OrderkitError(Exception):
    """Base of every error orderkit raises on purpose."""

    code: str = "orderkit_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(OrderkitError, ValueError):
    """An argument is malformed; ``field`` names it (dotted path, e.g. ``lines[1].quantity``)."""

    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownCurrency(ValidationError):
    """A currency code that is not an ISO 4217 code babel knows."""

    code = "unknown_currency"

    def __init__(self, currency: str, field: str = "currency") -> None:
        super().__init__(
            field,
            f"{currency!r} is not an ISO 4217 currency code; use a three-letter code "
            "such as 'USD', 'EUR', 'CNY' or 'JPY'",
        )
        self.currency = currency


class InvalidStockAdjustment(ValidationError):
    """A stock change that would leave on-hand below zero or below what is reserved."""

    code = "invalid_stock_adjustment"


class CurrencyMismatch(OrderkitError, ValueError):
    """Money in two currencies met in one calculation."""

    code = "currency_mismatch"

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


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, ref: str) -> None:
        super().__init__(f"no order {ref!r}; check the order id or number")
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


class InvalidTransition(OrderkitError):
    """The status machine has no transition for ``event`` from ``state``."""

    code = "invalid_transition"

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

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid status machine:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = tuple(problems)


class OutOfStock(OrderkitError):
    """Not enough available stock (on hand minus reserved) to reserve ``requested``."""

    code = "out_of_stock"

    def __init__(self, sku: str, location: str, requested: int, available: int) -> None:
        super().__init__(
            f"SKU {sku!r} at {location!r}: {requested} requested but only {available} "
            "available; lower the quantity or receive more stock"
        )
        self.sku = sku
        self.location = location
        self.requested = requested
        self.available = available


class PaymentError(OrderkitError):
    code = "payment_error"


class Overpayment(PaymentError):
    code = "overpayment"


class RefundExceedsPayment(PaymentError):
    code = "refund_exceeds_payment"


class EditError(OrderkitError):
    code = "edit_error"


class EditNotAllowed(EditError):
    code = "edit_not_allowed"


class SelfApproval(EditError):
    code = "self_approval"


class DeliveryFailed(OrderkitError):
    """A channel could not deliver a message.

    ``retryable`` is True when trying again later may succeed (a timeout, a busy server, an
    HTTP 5xx) and False when it cannot (a rejected address, an HTTP 4xx): the dispatcher
    retries the first with backoff and dead-letters the second at once.
    """

    code = "delivery_failed"

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class CarrierError(OrderkitError):
    """A carrier refused a request (no service on the route, a parcel too heavy) or could
    not be reached."""

    code = "carrier_error"


class InvalidTrackingNumber(CarrierError, ValueError):
    """A tracking number that does not match its carrier's format or check digit."""

    code = "invalid_tracking_number"

    def __init__(self, carrier: str, tracking_number: str, why: str) -> None:
        super().__init__(
            f"{tracking_number!r} is not a valid {carrier} tracking number: {why}; "
            "check it against the carrier's label"
        )
        self.carrier = carrier
        self.tracking_number = tracking_number


class RenderError(OrderkitError):
    """A receipt template could not be rendered; ``template`` names it."""

    code = "render_error"

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


class IdempotencyConflict(OrderkitError):
    """An idempotency key was reused for a different request."""

    code = "idempotency_conflict"

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


class StorageError(OrderkitError):
    code = "storage_error"


class TransientStorageError(StorageError):
    """The database asked us to try again (busy, serialization failure, deadlock)."""

    code = "transient_storage_error"


class SchemaVersionError(StorageError):
    code = "schema_version_error"
