"""A simulated ERP shaped like Dynamics 365 Finance & Operations OData: its own store and HTTP API.

This package is "the other system": it never imports the portal's ``data/``, ``pages/`` or ``app``.
"""

from .api import create_erp_app
from .store import ENTITY_KEYS as ERP_ENTITY_KEYS
from .store import ENTITY_SETS as ERP_ENTITY_SETS

__all__ = ["ERP_ENTITY_KEYS", "ERP_ENTITY_SETS", "create_erp_app"]
