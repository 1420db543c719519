"""Column types for chain values that SQL's native integers cannot hold."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator


class BigInt(TypeDecorator):
    """A signed integer up to 256 bits (token amounts, int256 metric values), stored as its decimal
    text: exact on every database, where NUMERIC would round on SQLite."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(int(value))

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)
