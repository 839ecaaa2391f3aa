"""Who may see and do what in billing. Pure predicates; views and templates share them.

A firm's statements and vouchers are for its organisation admins and platform admins only;
charges and income belong to the managers of the instrument's lab (and platform admins).
"""

from __future__ import annotations

from equipshare.catalogue.permissions import can_manage_instrument, managed_lab_ids


def _authenticated(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _is_admin(user) -> bool:
    return _authenticated(user) and bool(user.is_platform_admin)


def can_view_org_billing(user, organisation_id: int | None) -> bool:
    """Statements, open charges and voucher balance of one organisation."""
    if _is_admin(user):
        return True
    return (_authenticated(user) and organisation_id is not None and user.is_org_admin
            and user.organisation_id == organisation_id)


def can_view_statement(user, statement) -> bool:
    return statement is not None and can_view_org_billing(user, statement.organisation_id)


def can_list_statements(user) -> bool:
    return _is_admin(user) or (_authenticated(user) and user.is_org_admin)


def can_issue_statements(user) -> bool:
    return _is_admin(user)


def can_manage_vouchers(user) -> bool:
    return _is_admin(user)


def can_view_charge(user, charge) -> bool:
    return charge is not None and can_manage_instrument(user, charge.instrument)


def can_adjust_charge(user, charge) -> bool:
    """Change the amount of a charge that is not yet on an issued statement."""
    return can_view_charge(user, charge) and charge.status == "open"


def can_correct_charge(user, charge) -> bool:
    """Add a correction line (next statement) to a charge that is already billed."""
    return can_view_charge(user, charge) and charge.status == "billed"


def can_edit_billing_policy(user, instrument) -> bool:
    return can_manage_instrument(user, instrument)


def can_view_income(user) -> bool:
    return _is_admin(user) or bool(managed_lab_ids(user))


def income_lab_scope(user) -> set[int] | None:
    """Labs whose income ``user`` sees: None = all (platform admin)."""
    return None if _is_admin(user) else managed_lab_ids(user)
