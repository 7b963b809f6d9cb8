"""What the create-order wizard's two modules share: the draft's ids and the reader's day and context."""

from datetime import UTC, date, datetime

from data.access import Principal
from data.order_entry import Readiness, order_context
from pages._shell import user_zone

ACCOUNT = "wizard-account"  # administrators: the customer account ordered for
LINES = (
    "wizard-lines"  # a local store: {"owner": contact id, "lines": [{item, unit, quantity}], "reordered": []}
)
REORDER = "wizard-reorder"  # a store: the order id from ?reorder=
#: Wizard field names of step 1, in the order the page passes their values.
HEADER_NAMES = (
    "receipt_date",
    "country",
    "address",
    "address_description",
    "address_street",
    "address_city",
    "address_zip",
    "reference",
)


def today() -> date:
    """Today where the reader is (their browser's time zone)."""
    return datetime.now(user_zone()).date()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def header_values(values) -> dict:
    return dict(zip(HEADER_NAMES, values, strict=True))


def draft_lines(store, principal: Principal) -> list:
    """The lines of the stored draft, if this person wrote it (a shared browser keeps drafts apart)."""
    if (
        isinstance(store, dict)
        and store.get("owner") == principal.contact_id
        and isinstance(store.get("lines"), list)
    ):
        return [line for line in store["lines"] if isinstance(line, dict)]
    return []


def text(value) -> str:
    """A search box's value as text (any JSON can arrive)."""
    return value[:100] if isinstance(value, str) else ""


def context_for(principal: Principal, session, account) -> Readiness:
    """The order context: the contact's own, or for administrators that of the chosen account."""
    return order_context(session, principal, account if principal.is_admin else None)
