"""Tests of the independent auditor (auditor/).

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
