"""`attestpay wallet`: encrypted keystores created, imported, named and listed; passwords from a
file, the environment or a prompt; the keys open with eth-account and nothing is stored in clear."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eth_account import Account

from attestpay.keystore import open_keystore
from attestpay_cli.main import app

KEY = "0x" + "42" * 32


@pytest.mark.slow  # scrypt at its full cost
def test_new_import_address_and_list(tmp_path):
    runner = CliRunner()
    wallets = tmp_path / "wallets"
    (tmp_path / "password").write_text("correct horse\n")
    made = runner.invoke(
        app, ["wallet", "new", "client", "--dir", str(wallets), "--password-file", str(tmp_path / "password")]
    )
    assert made.exit_code == 0, made.output
    address = made.stdout.strip()
    assert Account.from_key(open_keystore(wallets / "client.json", "correct horse")).address == address
    assert (wallets / "client.json").stat().st_mode & 0o077 == 0  # owner only
    assert "correct horse" not in (wallets / "client.json").read_text()

    imported = runner.invoke(
        app,
        ["wallet", "import", "provider", "--dir", str(wallets), "--json"],
        input=KEY + "\n",
        env={"ATTESTPAY_WALLET_PASSWORD": "from the environment"},
    )
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["address"] == Account.from_key(KEY).address
    assert open_keystore(wallets / "provider.json", "from the environment") == bytes.fromhex(KEY[2:])

    shown = runner.invoke(app, ["wallet", "address", "provider", "--dir", str(wallets)])
    assert shown.stdout.strip() == Account.from_key(KEY).address
    listed = json.loads(runner.invoke(app, ["wallet", "list", "--dir", str(wallets), "--json"]).stdout)
    assert [(w["name"], w["address"]) for w in listed] == [
        ("client", address),
        ("provider", Account.from_key(KEY).address),
    ]

    again = runner.invoke(
        app, ["wallet", "new", "client", "--dir", str(wallets), "--password-file", str(tmp_path / "password")]
    )
    assert again.exit_code == 2 and "refusing to overwrite a key" in again.output
    bad = runner.invoke(
        app, ["wallet", "import", "x", "--dir", str(wallets)], input="not hex\n", env={"ATTESTPAY_WALLET_PASSWORD": "p"}
    )
    assert bad.exit_code == 2 and "not a private key" in bad.output
    empty = runner.invoke(app, ["wallet", "new", "y", "--dir", str(wallets)], env={"ATTESTPAY_WALLET_PASSWORD": ""})
    assert empty.exit_code == 2 and "empty password" in empty.output
