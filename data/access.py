"""Who is asking, and what they may see: the principal and one scope per entity (DOMAIN §2).

Every read in data/ starts from one of these scopes. They fail closed: an anonymous principal, or one
without the role a scope needs, gets a statement that matches nothing. Ids sent by a browser are filters
inside a scope, never the scope itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, select, true

from data.models import (
    Contact,
    CustomerAccount,
    Invitation,
    OrderEvent,
    OutboxEntry,
    PriceList,
    PriceListItem,
    Product,
    QuarantinedRecord,
    SalesOrder,
    SalesOrderLine,
    SyncRun,
    WebRole,
)


@dataclass(frozen=True)
class Principal:
    """The signed-in contact as the server knows it (never built from browser input)."""

    contact_id: int | None
    email: str = ""
    name: str = ""
    roles: frozenset[WebRole] = frozenset()
    legal_entity_id: str | None = None
    customer_account_id: int | None = None
    price_list_code: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.contact_id is None or not self.roles

    @property
    def is_admin(self) -> bool:
        return WebRole.ADMINISTRATOR in self.roles

    @property
    def is_representative(self) -> bool:
        return WebRole.CUSTOMER_REPRESENTATIVE in self.roles and self.customer_account_id is not None

    @property
    def is_authorized_user(self) -> bool:
        return WebRole.AUTHORIZED_USER in self.roles and self.customer_account_id is not None

    def has_any(self, roles: Iterable[WebRole | str]) -> bool:
        return bool(self.roles & {WebRole(r) for r in roles})


ANONYMOUS = Principal(contact_id=None)


def principal_for(contact: Contact) -> Principal:
    """The principal of an enabled contact (disabled contacts have no roles)."""
    return Principal(
        contact_id=contact.id,
        email=contact.email,
        name=contact.full_name,
        roles=frozenset(contact.web_roles) if contact.is_enabled else frozenset(),
        legal_entity_id=contact.legal_entity_id,
        customer_account_id=contact.customer_account_id,
        price_list_code=contact.price_list_code,
    )


def order_criteria(principal: Principal) -> ColumnElement[bool]:
    """The row filter for sales orders: all (administrator), the account's (representative), own (user)."""
    if principal.is_admin:
        return true()
    if principal.is_representative:
        return SalesOrder.customer_account_id == principal.customer_account_id
    if principal.is_authorized_user:
        return SalesOrder.placed_by_contact_id == principal.contact_id
    return false()


def visible_orders(principal: Principal) -> Select[SalesOrder]:
    return select(SalesOrder).where(order_criteria(principal))


def visible_order_lines(principal: Principal) -> Select[SalesOrderLine]:
    return (
        select(SalesOrderLine)
        .join(SalesOrder, SalesOrderLine.order_id == SalesOrder.id)
        .where(order_criteria(principal))
    )


def visible_order_events(principal: Principal) -> Select[OrderEvent]:
    return (
        select(OrderEvent)
        .join(SalesOrder, OrderEvent.order_id == SalesOrder.id)
        .where(order_criteria(principal))
    )


def visible_accounts(principal: Principal) -> Select[CustomerAccount]:
    """Account master data: any account (administrator), their own (representative), none otherwise."""
    stmt = select(CustomerAccount)
    if principal.is_admin:
        return stmt
    if principal.is_representative:
        return stmt.where(CustomerAccount.id == principal.customer_account_id)
    return stmt.where(false())


def orderable_accounts(principal: Principal) -> Select[CustomerAccount]:
    """Accounts the principal may place orders for: any (administrator), their own (customers), none."""
    stmt = select(CustomerAccount)
    if principal.is_admin:
        return stmt
    if principal.is_representative or principal.is_authorized_user:
        return stmt.where(CustomerAccount.id == principal.customer_account_id)
    return stmt.where(false())


def visible_contacts(principal: Principal) -> Select[Contact]:
    """Contacts: all (administrator), the account's (representative, read only), themselves otherwise."""
    stmt = select(Contact)
    if principal.is_admin:
        return stmt
    if principal.is_representative:
        return stmt.where(Contact.customer_account_id == principal.customer_account_id)
    if not principal.is_anonymous:
        return stmt.where(Contact.id == principal.contact_id)
    return stmt.where(false())


def visible_products(principal: Principal) -> Select[Product]:
    """Products released to the principal's legal entity (all for administrators)."""
    stmt = select(Product)
    if principal.is_admin:
        return stmt
    if not principal.is_anonymous and principal.legal_entity_id:
        return stmt.where(Product.legal_entity_id == principal.legal_entity_id)
    return stmt.where(false())


def visible_price_list_items(principal: Principal) -> Select[PriceListItem]:
    """Prices of the principal's own price list (all for administrators)."""
    stmt = select(PriceListItem).join(PriceList, PriceListItem.price_list_id == PriceList.id)
    if principal.is_admin:
        return stmt
    if not principal.is_anonymous and principal.legal_entity_id and principal.price_list_code:
        return stmt.where(
            PriceList.legal_entity_id == principal.legal_entity_id,
            PriceList.code == principal.price_list_code,
        )
    return stmt.where(false())


def visible_invitations(principal: Principal) -> Select[Invitation]:
    return select(Invitation).where(true() if principal.is_admin else false())


def visible_sync_runs(principal: Principal) -> Select[SyncRun]:
    """Sync data is for administrators only."""
    return select(SyncRun).where(true() if principal.is_admin else false())


def visible_outbox(principal: Principal) -> Select[OutboxEntry]:
    return select(OutboxEntry).where(true() if principal.is_admin else false())


def visible_quarantine(principal: Principal) -> Select[QuarantinedRecord]:
    """ERP records the pull could not apply: administrators only."""
    return select(QuarantinedRecord).where(true() if principal.is_admin else false())


def current_principal() -> Principal:
    """The principal of the current request, from the server-side session only."""
    from flask_login import current_user

    principal = getattr(current_user, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS
