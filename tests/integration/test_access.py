"""Scopes per role (DOMAIN §2): every read starts from one, and each fails closed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data.access import (
    ANONYMOUS,
    Principal,
    principal_for,
    visible_accounts,
    visible_contacts,
    visible_invitations,
    visible_order_events,
    visible_order_lines,
    visible_orders,
    visible_price_list_items,
    visible_products,
    visible_sync_runs,
)
from data.models import Contact, PriceList, SalesOrder, WebRole


def _principal(session, email: str) -> Principal:
    return principal_for(session.scalars(select(Contact).where(Contact.email == email)).one())


def _count(session, stmt) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


@pytest.fixture
def db(portal):
    with portal.server.extensions["portal.sessions"]() as session:
        yield session


def test_orders_by_role(db):
    admin = _principal(db, "admin@portal.demo")
    rep = _principal(db, "rep1@portal.demo")
    user = _principal(db, "user1a@portal.demo")
    total = db.scalar(select(func.count(SalesOrder.id)))

    assert _count(db, visible_orders(admin)) == total
    rep_orders = db.scalars(visible_orders(rep)).all()
    assert rep_orders and {o.customer_account_id for o in rep_orders} == {rep.customer_account_id}
    assert len(rep_orders) < total
    user_orders = db.scalars(visible_orders(user)).all()
    assert user_orders and {o.placed_by_contact_id for o in user_orders} == {user.contact_id}
    assert len(user_orders) < len(rep_orders)
    # lines and timelines follow their orders
    assert {line.order_id for line in db.scalars(visible_order_lines(user))} <= {o.id for o in user_orders}
    assert {e.order_id for e in db.scalars(visible_order_events(rep))} <= {o.id for o in rep_orders}


def test_everything_fails_closed_for_anonymous_and_disabled(db):
    disabled = _principal(db, "user1b@portal.demo")
    disabled = Principal(disabled.contact_id, disabled.email, roles=frozenset())  # as principal_for gives
    for principal in (ANONYMOUS, disabled):
        for scope in (
            visible_orders,
            visible_order_lines,
            visible_order_events,
            visible_accounts,
            visible_contacts,
            visible_products,
            visible_price_list_items,
            visible_invitations,
            visible_sync_runs,
        ):
            assert _count(db, scope(principal)) == 0, scope.__name__


def test_accounts_contacts_and_sync_data(db):
    admin = _principal(db, "admin@portal.demo")
    rep = _principal(db, "rep2@portal.demo")
    user = _principal(db, "user2a@portal.demo")
    assert [a.id for a in db.scalars(visible_accounts(rep))] == [rep.customer_account_id]
    assert _count(db, visible_accounts(user)) == 0
    assert _count(db, visible_accounts(admin)) > 50
    rep_contacts = db.scalars(visible_contacts(rep)).all()
    assert {c.customer_account_id for c in rep_contacts} == {rep.customer_account_id}
    assert [c.id for c in db.scalars(visible_contacts(user))] == [user.contact_id]
    assert _count(db, visible_sync_runs(admin)) >= 1
    assert _count(db, visible_sync_runs(rep)) == 0


def test_products_and_prices_of_the_contacts_company_and_price_list(db):
    user = _principal(db, "user2a@portal.demo")
    assert user.legal_entity_id == "DEMF" and user.roles == {WebRole.AUTHORIZED_USER}
    assert {p.legal_entity_id for p in db.scalars(visible_products(user))} == {"DEMF"}
    lists = {
        (pl.legal_entity_id, pl.code)
        for pl in db.scalars(
            select(PriceList).where(
                PriceList.id.in_(select(visible_price_list_items(user).subquery().c.price_list_id))
            )
        )
    }
    assert lists == {("DEMF", user.price_list_code)}
