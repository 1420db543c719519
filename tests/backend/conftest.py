"""Tests of the backend's API, services and database, on the embedded chain, SQLite and PostgreSQL.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
