"""All permission predicates, gathered for templates: ``can.manage_instrument(user, instrument)``.

Each feature keeps its own pure ``can_<verb>(user, obj) -> bool`` functions in its
``permissions.py``; views use the same functions, so a button shows exactly when the server
would allow the action.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

FEATURE_PERMISSION_MODULES = (
    "equipshare.accounts.permissions",
    "equipshare.catalogue.permissions",
    "equipshare.booking.permissions",
    "equipshare.calendars.permissions",
    "equipshare.billing.permissions",
    "equipshare.notifications.permissions",
)


def _collect() -> SimpleNamespace:
    found = {}
    for name in FEATURE_PERMISSION_MODULES:
        module = import_module(name)
        for attr in dir(module):
            if attr.startswith("can_"):
                found[attr[4:]] = getattr(module, attr)
    return SimpleNamespace(**found)


class _LazyCan:
    _ns: SimpleNamespace | None = None

    def __getattr__(self, item):
        if _LazyCan._ns is None:
            _LazyCan._ns = _collect()
        return getattr(_LazyCan._ns, item)


can = _LazyCan()
