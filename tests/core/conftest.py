"""Tests of the shared core (attestpay/), the contracts through web3, the build and lint gates.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""
