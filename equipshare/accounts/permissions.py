"""Permission predicates: pure can_<verb>(user, obj) -> bool.

Views call them before acting; templates call them as ``can.<verb>(current_user, obj)`` so a
button shows exactly when the server would allow the action.
"""

from __future__ import annotations

from equipshare.accounts.models import MemberRole, MemberStatus, OrgStatus


def _logged_in(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def is_last_active_admin(member) -> bool:
    org = member.organisation
    if org is None or member.org_role != MemberRole.ADMIN or member.member_status != MemberStatus.ACTIVE:
        return False
    admins = [m for m in org.members if m.org_role == MemberRole.ADMIN and m.member_status == MemberStatus.ACTIVE]
    return len(admins) <= 1


def can_manage_org_members(user, org) -> bool:
    """Organisation admins manage their own organisation's members, nobody else's."""
    return _logged_in(user) and org is not None and user.is_org_admin and user.organisation_id == org.id


def can_decide_join_request(user, member) -> bool:
    return can_manage_org_members(user, member.organisation) and member.member_status == MemberStatus.PENDING


def can_remove_member(user, member) -> bool:
    return (
        can_manage_org_members(user, member.organisation)
        and member.member_status == MemberStatus.ACTIVE
        and not is_last_active_admin(member)
    )


def can_change_member_role(user, member) -> bool:
    return (
        can_manage_org_members(user, member.organisation)
        and member.member_status == MemberStatus.ACTIVE
        and not is_last_active_admin(member)
    )


def can_list_organisations(user) -> bool:
    return _logged_in(user) and user.is_platform_admin


def can_decide_organisation(user, org) -> bool:
    """Pending applications are decided; a rejected one may be reconsidered (approved)."""
    return can_list_organisations(user) and org.status in (OrgStatus.PENDING, OrgStatus.REJECTED)
