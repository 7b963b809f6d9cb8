"""Public notices shown on the home page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Notice


def public_notices(session: Session, limit: int = 5) -> list[Notice]:
    """The newest public notices; visible to everyone, signed in or not."""
    stmt = (
        select(Notice)
        .where(Notice.is_public.is_(True))
        .order_by(Notice.published_on.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
