"""Agreement reads are served from the document stored with each change: a change made through
any replica, to the agreement, a milestone or a consent, is in the stored document when it commits,
so every replica's next read shows it; two transactions changing one agreement at once leave a
document that shows both."""

from __future__ import annotations

import json
import threading
import time

from backend_support import Api
from eth_account import Account
from factories import agreement_body
from sqlalchemy import delete

from backend.db.models import Agreement, AgreementDocument
from backend.services.documents import render


def stored(api: Api, pk: int) -> dict:
    """The stored document, which must be the agreement's current version rendered afresh."""
    with api.app.state.sessions() as session:
        agreement, document = session.get(Agreement, pk), session.get(AgreementDocument, pk)
        assert document is not None and document.version == agreement.version
        assert json.loads(document.body) == json.loads(render(agreement))
        return json.loads(document.body)


def test_every_replica_reads_the_current_agreement(chain, database_url):
    first, second = Api(chain, database_url), Api(chain, database_url)
    client, provider = first.sign_in(chain.client), first.sign_in(chain.provider)
    pk = first.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()["id"]

    def read(api: Api) -> dict:
        response = api.client.get(f"/v1/agreements/{pk}", headers=client)
        assert response.status_code == 200, response.text
        assert response.json() == stored(api, pk)
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


def test_an_agreement_without_a_stored_document_is_rendered_when_read(api, chain):
    """As after migration 0003, which adds the documents to agreements that already exist."""
    client = api.sign_in(chain.client)
    created = api.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()
    with api.app.state.sessions() as session:
        session.execute(delete(AgreementDocument))
        session.commit()
    assert api.client.get(f"/v1/agreements/{created['id']}", headers=client).json() == created


def test_concurrent_changes_to_one_agreement_both_reach_its_document(api, chain):
    """The second transaction waits for the first's row lock, then renders what both committed."""
    client = api.sign_in(chain.client)
    pk = api.client.post("/v1/agreements", json=agreement_body(chain), headers=client).json()["id"]
    first, second = api.app.state.sessions(), api.app.state.sessions()
    stale = second.get(Agreement, pk)  # held, with its milestones as they were before the first commits
    stale.milestones[1].client_approved = True
    first.get(Agreement, pk).milestones[0].client_approved = True
    first.flush()  # holds the agreement's row lock
    waiting = threading.Thread(target=second.commit)
    waiting.start()
    time.sleep(0.3)
    assert waiting.is_alive()
    first.commit()
    waiting.join(timeout=30)
    first.close(), second.close()
    assert [m["client_approved"] for m in stored(api, pk)["milestones"]] == [True, True, False][
        : len(agreement_body(chain)["milestones"])
    ]
