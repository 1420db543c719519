"""Prebuilt SQL shared by the services and the engine."""

from __future__ import annotations

from sqlalchemy import Table, TextClause, bindparam, text


def insert_or_ignore(table: Table, conflict: str, columns: tuple[str, ...]) -> TextClause:
    """INSERT ... ON CONFLICT (...) DO NOTHING, which SQLite and PostgreSQL spell alike. As text it
    is compiled once; the dialects' on_conflict constructs are compiled on every execution. Columns
    are quoted: `to` is a keyword."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    sql = (
        f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({conflict}) DO NOTHING"
    )
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
