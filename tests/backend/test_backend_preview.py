"""The payout preview endpoint answers what the deployed escrow's previewPayout answers for the
same milestone, value and time."""

from __future__ import annotations

import shutil

import pytest
from backend_support import Api
from factories import DAY, agreement_body
from hypothesis import HealthCheck, given, settings, strategies as st

from backend.db.models import MilestoneRecord
from backend.domain.terms import milestone_terms

pytestmark = pytest.mark.slow  # its own anvil

FIELDS = ("earned_bps", "base", "bonus_earned", "penalty_bps", "penalty", "net", "holdback", "paid_now", "refund")


@pytest.fixture(scope="module")
def previewed(session_chain, tmp_path_factory, migrated_sqlite):
    """One agreement with a holdback and a late penalty, on SQLite (the endpoint reads one row)."""
    path = tmp_path_factory.mktemp("preview") / "preview.db"
    shutil.copy(migrated_sqlite, path)
    api = Api(session_chain, f"sqlite:///{path}")
    body = agreement_body(session_chain, milestones=1)
    body["milestones"][0] |= {
        "holdback_bps": 1500,
        "holdback_period": 30 * DAY,
        "late_penalty_bps_per_day": 250,
        "max_late_penalty_bps": 2000,
    }
    client = api.sign_in(session_chain.client)
    pk = api.client.post("/v1/agreements", json=body, headers=client).json()["id"]
    with api.app.state.sessions() as session:
        terms = milestone_terms(session.query(MilestoneRecord).one())
    return api, client, pk, terms


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(st.integers(-(2**255), 2**255 - 1), st.integers(7_000, 10_000)), late=st.integers(-DAY, 20 * DAY)
)
def test_the_endpoint_previews_what_the_escrow_would_pay(previewed, value, late):
    api, client, pk, terms = previewed
    observed_at = max(0, terms.deadline + late)
    response = api.client.get(
        f"/v1/agreements/{pk}/milestones/0/preview", params={"value": value, "observed_at": observed_at}, headers=client
    )
    assert response.status_code == 200, response.text
    on_chain = api.chain.escrow.functions.previewPayout(terms.as_abi(), value, observed_at).call()
    assert [int(response.json()[f]) for f in FIELDS] == list(on_chain)
