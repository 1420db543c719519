"""Agreement reads are served from a cache keyed by the agreement's version: a change made
through any replica, to the agreement, a milestone or a consent, is seen by every replica's next
read."""

from __future__ import annotations

from eth_account import Account
from factories import agreement_body

from backend.db.models import Agreement
from backend_support import Api


def test_every_replica_reads_the_current_agreement(chain, database_url):
    first, second = Api(chain, database_url), Api(chain, database_url)
    client, provider = first.sign_in(chain.client), first.sign_in(chain.provider)
    pk = first.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()["id"]

    def read(api: Api) -> dict:
        response = api.client.get(f"/v1/agreements/{pk}", headers=client)
        assert response.status_code == 200, response.text
        return response.json()

    assert read(first)["status"] == read(second)["status"] == "draft"
    second.client.post(f"/v1/agreements/{pk}/propose", headers=provider)  # the agreement row
    assert read(first)["status"] == "proposed"

    typed = first.client.get(f"/v1/agreements/{pk}/typed-data", headers=client).json()["typed_data"]
    signature = "0x" + Account.sign_typed_data(chain.client.key, full_message=typed).signature.hex()
    second.client.post(f"/v1/agreements/{pk}/consents", json={"signature": signature}, headers=client)  # a consent row
    assert [c["role"] for c in read(first)["consents"]] == ["client"]

    with second.app.state.sessions() as session:  # a milestone row, as applying a chain event changes it
        agreement = session.get(Agreement, pk)
        version = agreement.version
        agreement.milestones[1].client_approved = True
        session.commit()
        assert session.get(Agreement, pk).version == version + 1
    assert [m["client_approved"] for m in read(first)["milestones"]] == [False, True]
    assert read(first) == read(second)
