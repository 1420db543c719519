"""The terms file and the token registry: human units in, exact base units out, every mistake named;
the four examples the demo plays are valid and told back with the contract's payout formula."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import to_checksum_address

from attestpay import payout
from attestpay.terms_file import SCHEMA_PATH, TermsError, load_terms, schema
from attestpay.tokens import ETHER, AmountError, Token, TokenRegistry, format_amount, parse_amount
from attestpay_cli.main import app
from attestpay_cli.terms import in_words

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
MUSD = Token("0x" + "ab" * 20, "mUSD", 18)
USDC = Token("0x" + "cd" * 20, "USDC", 6)


def test_amounts_read_and_print_exactly():
    assert parse_amount("20,000 mUSD", MUSD) == 20_000 * 10**18
    assert parse_amount("1.5 ETH", ETHER) == 15 * 10**17
    assert parse_amount("0.000001 USDC", USDC) == 1
    assert format_amount(1_050 * 10**18, MUSD) == "1,050 mUSD"
    assert format_amount(15 * 10**17, ETHER) == "1.5 ETH"
    assert format_amount(1, ETHER) == "0.000000000000000001 ETH"
    assert format_amount(123_456_789, USDC) == "123.456789 USDC"
    for amount in (0, 1, 10**18, 5_181_250_000_000_000_000_000, 2**128 - 1):
        assert parse_amount(format_amount(amount, MUSD), MUSD) == amount
    mistakes = [
        ("0.0000001 USDC", USDC, "more decimals than USDC (6)"),
        ("20 mUSD", USDC, "is in mUSD, but the agreement's token is USDC"),
        ("twenty", USDC, "is not an amount"),
        ("-1 USDC", USDC, "is negative"),
    ]
    for text, token, reason in mistakes:
        with pytest.raises(AmountError, match=re.escape(reason)):
            parse_amount(text, token)


def test_the_registry_reads_an_erc20_from_the_chain_and_lets_configuration_override_it(chain, tmp_path):
    registry = TokenRegistry(chain.w3)
    assert registry.token(None) is ETHER and registry.token("0x" + "00" * 20) is ETHER
    assert registry.token(chain.token.address) == Token(chain.token.address, "mUSD", 18)
    assert registry.by_symbol("musd").address == chain.token.address
    overrides = tmp_path / "tokens.json"
    overrides.write_text(json.dumps({chain.token.address: {"symbol": "USD", "decimals": 18}}))
    assert TokenRegistry.configured(chain.w3, overrides).token(chain.token.address).symbol == "USD"
    with pytest.raises(AmountError, match="unknown token 'EUR'"):
        registry.by_symbol("EUR")
    with pytest.raises(AmountError, match="cannot read symbol"):
        registry.token(chain.escrow.address)  # a contract, but no ERC-20


def _terms(**changes) -> dict:
    document = json.loads((ROOT / "examples" / "ai-implementation.json").read_text())
    for path, value in changes.items():
        target = document
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return document


def test_a_terms_file_becomes_exact_base_units_times_and_basis_points():
    deal = load_terms(ROOT / "examples" / "ai-implementation.json", now=1_800_000_000)
    accuracy = deal.milestones[1]
    assert (accuracy.amount, accuracy.bonus) == (50_000 * 10**18, 5_000 * 10**18)
    assert (accuracy.floor, accuracy.target, accuracy.stretch) == (8_800, 9_200, 9_600)
    assert accuracy.deadline == 1_800_000_000 + 45 * 86_400 and accuracy.holdback_period == 30 * 86_400
    assert (accuracy.floor_payout_bps, accuracy.late_penalty_bps_per_day, accuracy.holdback_bps) == (5_000, 100, 1_000)
    assert deal.cure_window == 14 * 86_400 and deal.token.symbol == "mUSD"
    dated = load_terms(_terms(start="2027-01-01", milestones__0__deadline="2027-02-01T12:00Z"))
    assert dated.milestones[0].deadline == 1_801_483_200 and dated.milestones[1].deadline == dated.start + 45 * 86_400

    names = {"client": "0x" + "11" * 20, "provider": "0x" + "22" * 20, "arbiter": "0x" + "33" * 20}
    names |= {f"oracle-{n}": "0x" + f"{n}0" * 20 for n in (1, 2, 3)}
    body = deal.api_body(names, TokenRegistry(overrides={MUSD.address: {"symbol": "mUSD", "decimals": 18}}))
    assert body["token"] == to_checksum_address(MUSD.address)
    assert body["milestones"][1]["amount"] == str(50_000 * 10**18) and body["oracles"] == sorted(
        body["oracles"], key=lambda a: int(a, 16)
    )
    with pytest.raises(TermsError, match="no address for the name 'client'"):
        deal.api_body({}, TokenRegistry())
    assert "vat" not in body and deal.vat is None  # no choice: auto, the terms hash as before

    agreed = load_terms(_terms(vat={"category": "S", "rate": "19"}), now=0)
    registry = TokenRegistry(overrides={MUSD.address: {"symbol": "mUSD", "decimals": 18}})
    assert agreed.api_body(names, registry)["vat"] == {"category": "S", "rate": "19"}
    assert load_terms(_terms(vat={"category": "auto"}), now=0).vat is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"milestones__0__amount": "20,000.5 EUR"}, "is in EUR, but the agreement's token is mUSD"),
        ({"milestones__1__target": "0.92001"}, "more than the metric's 4 decimals"),
        ({"milestones__0__deadline": "soon"}, "milestones.0.deadline"),
        ({"cure_window": "two weeks"}, "cure_window"),
        ({"threshold": 4}, "threshold: 4 signatures of 3 oracles"),
        ({"milestones__0__floor_payout": "80"}, "milestones.0.floor_payout"),
        ({"milestones__0__metric": "missing.json"}, "cannot read the metric spec"),
        ({"tokn": "ETH"}, "Additional properties are not allowed"),
        ({"vat": {"category": "AE", "rate": "19"}}, "vat.rate: a rate goes with category S"),
        ({"vat": {"category": "Z"}}, "vat"),
    ],
)
def test_a_mistake_in_a_terms_file_names_the_field(changes, reason):
    with pytest.raises(TermsError, match=re.escape(reason)):
        load_terms(_terms(**changes), now=0)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_passes_terms_check_with_the_payouts_of_the_formula(example):
    runner = CliRunner()
    told = runner.invoke(app, ["terms", "check", str(example)])
    assert told.exit_code == 0, told.output
    assert "[1] " in told.stdout and "at target" in told.stdout
    document = json.loads(runner.invoke(app, ["terms", "check", "--json", str(example)]).stdout)
    deal = load_terms(example, now=0)
    for m, shown in zip(deal.milestones, document["milestones"], strict=True):
        target = payout.compute(m.struct(), m.target, m.deadline)
        assert shown["payouts"]["target"]["net"] == str(target.net) == str(m.amount)
        assert shown["payouts"]["target"]["netDisplay"] == format_amount(m.amount, deal.token)
        assert shown["number"] == shown["index"] + 1


def test_the_schema_is_published_in_docs_and_served_by_the_api(api):
    assert json.loads((ROOT / "docs" / "terms.schema.json").read_text()) == json.loads(SCHEMA_PATH.read_text())
    served = api.client.get("/v1/terms/schema")
    assert served.status_code == 200 and served.json() == schema()
    eth = api.client.get("/v1/tokens/0x" + "00" * 20)
    assert eth.json() == {"address": "0x" + "00" * 20, "symbol": "ETH", "decimals": 18}
    assert api.client.get("/v1/tokens/0x" + "11" * 20).status_code == 422  # no contract: no symbol()


@pytest.mark.parametrize(
    "vat, words",
    [
        (None, "VAT: from the parties' profiles at each invoice"),
        ({"category": "S", "rate": "19"}, "VAT: S, standard rated at 19%, as agreed in these terms"),
        ({"category": "S"}, "VAT: S, standard rated at the seller's standard rate, as agreed"),
        ({"category": "AE"}, "VAT: AE, reverse charge: the client accounts for the VAT, as agreed"),
    ],
)
def test_terms_check_says_which_vat_treatment_the_parties_agree(vat, words):
    deal = load_terms(_terms(**({"vat": vat} if vat else {})), now=0)
    assert words in "\n".join(in_words(deal))
