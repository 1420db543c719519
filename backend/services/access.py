"""Who may see and act on an agreement: its client, provider and arbiter act; auditors, operators
and workers read every agreement; oracles only push attestations."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true

from backend.db.models import Agreement
from backend.errors import Forbidden
from backend.services.auth import Principal

READ_ALL = ("auditor", "operator", "worker")


def party_role(agreement: Agreement, principal: Principal) -> str | None:
    if principal.role != "wallet":
        return None
    for role in ("client", "provider", "arbiter"):
        if getattr(agreement, role) == principal.address:
            return role
    return None


def readable_by(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause for the agreements `principal` may read."""
    if principal.role in READ_ALL:
        return true()
    if principal.role == "wallet":
        a = principal.address
        return or_(Agreement.client == a, Agreement.provider == a, Agreement.arbiter == a)
    return false()


def listed_for(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause for the agreements in the caller's list: what it may read, except the drafts
    others wrote naming it. A draft is its author's workspace until proposed, so a stranger cannot
    fill someone's list with drafts (its id still opens it for the parties)."""
    if principal.role != "wallet":
        return readable_by(principal)
    return and_(readable_by(principal), or_(Agreement.status != "draft", Agreement.created_by == principal.address))


def require_read(agreement: Agreement, principal: Principal) -> None:
    if principal.role in READ_ALL or party_role(agreement, principal):
        return
    raise Forbidden(f"{principal.label} is not a party to agreement {agreement.id}")


def require_party(agreement: Agreement, principal: Principal, *roles: str) -> str:
    """The caller's role, if it is one of `roles`; Forbidden otherwise."""
    role = party_role(agreement, principal)
    if role not in roles:
        raise Forbidden(f"only the agreement's {' or '.join(roles)} may do this; {principal.label} is not")
    return role


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; the caller is {principal.role}")
