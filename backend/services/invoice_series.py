"""Gapless invoice numbers, one series per issuer (the provider issues every invoice and credit note).

The number is taken in the transaction that issues the invoice: the series row is raised with
UPDATE ... RETURNING, which holds the row's lock until that transaction ends, so a concurrent issue
by another replica waits for it, and a rolled-back issue gives its number back. A series is
created on its issuer's first invoice; its prefix is the issuer's address, 8 hex digits, longer
only when another issuer's series has that prefix (an address ground to collide gains nothing)."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import InvoiceSeries

WIDTHS = range(8, 41, 4)


def hold(session: Session, issuer: str) -> None:
    """Locks `issuer`'s series (opened if new) until the transaction ends, before anything else the
    issue locks, so that two transactions issuing for one issuer queue here rather than deadlock."""
    _open(session, issuer)
    session.execute(select(InvoiceSeries.issuer).where(InvoiceSeries.issuer == issuer).with_for_update())


def take(session: Session, issuer: str) -> tuple[int, str]:
    """The next sequence number of `issuer`'s series and the invoice number it makes."""
    _open(session, issuer)
    prefix, sequence = session.execute(
        update(InvoiceSeries)
        .where(InvoiceSeries.issuer == issuer)
        .values(last_number=InvoiceSeries.last_number + 1)
        .returning(InvoiceSeries.prefix, InvoiceSeries.last_number)
    ).one()
    return sequence, f"{prefix}-{sequence:06d}"


def rewind(session: Session, issuer: str, last: int) -> None:
    """After a reorganisation deleted the invoices of replaced blocks: the series continues after
    `last`, the highest number still issued, so the numbers of the replaced invoices are reissued."""
    session.execute(update(InvoiceSeries).where(InvoiceSeries.issuer == issuer).values(last_number=last))


def _open(session: Session, issuer: str) -> None:
    exists = select(InvoiceSeries.issuer).where(InvoiceSeries.issuer == issuer)
    if session.scalar(exists) is not None:
        return
    for width in WIDTHS:
        try:
            with session.begin_nested():
                session.execute(
                    insert(InvoiceSeries).values(
                        issuer=issuer, prefix=f"AP-{issuer[2 : 2 + width].upper()}", last_number=0
                    )
                )
            return
        except IntegrityError:  # opened by a concurrent issue, or the prefix is another issuer's
            if session.scalar(exists) is not None:
                return
    raise AssertionError(f"no free prefix for {issuer}: two series with one address")
