"""What runs without a wallet: the relayer's intents, release requests (the oracle nodes asked to
measure) and a provider's partial acceptance, and the webhooks that tell parties of every change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.api.deps import ChainDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from backend.api.params import MilestoneIndex, RowId
from backend.api.schemas import (
    AcceptPartialIn,
    Hex32,
    IntentOut,
    ReleaseRequestOut,
    TypedDataOut,
    WebhookIn,
    WebhookOut,
)
from backend.services import agreements, release, release_requests, webhooks

router = APIRouter(prefix="/v1", tags=["automation"])


def _intent(intent) -> IntentOut:
    return IntentOut.model_validate(intent, from_attributes=True)


@router.get("/agreements/{pk}/intents")
def list_intents(pk: RowId, session: SessionDep, principal: PrincipalDep) -> list[IntentOut]:
    """The settlements and holdback releases the relayer sent or will send for this agreement."""
    return [_intent(i) for i in release.intents(session, principal, agreements.get(session, pk))]


def _release_request(request) -> ReleaseRequestOut:
    return ReleaseRequestOut.model_validate(request, from_attributes=True)


@router.post("/agreements/{pk}/milestones/{index}/request-release", status_code=202)
def request_release(
    pk: RowId, index: MilestoneIndex, session: SessionDep, chain: ChainDep, settings: SettingsDep, principal: WriterDep
) -> ReleaseRequestOut:
    """The provider asks every oracle node to measure now, at one chain time. The answer comes at
    once (202): the workers ask the nodes, and the request's progress is read at
    `GET /v1/release-requests/{id}` and pushed to webhooks. A result that meets the target settles
    by itself. While a request is measuring, asking again returns it."""
    agreement = agreements.get(session, pk)
    return _release_request(
        release_requests.request(session, chain, settings.oracle_nodes, principal, agreement, index)
    )


@router.get("/release-requests/{request_id}")
def read_release_request(request_id: RowId, session: SessionDep, principal: PrincipalDep) -> ReleaseRequestOut:
    """A release request: each node asked, what it measured and signed, or why it refused or timed out."""
    return _release_request(release_requests.get(session, principal, request_id))


@router.get("/agreements/{pk}/release-requests")
def list_release_requests(pk: RowId, session: SessionDep, principal: PrincipalDep) -> list[ReleaseRequestOut]:
    """The agreement's release requests, newest first (the dashboard shows the latest per milestone)."""
    agreement = agreements.get(session, pk)
    return [_release_request(r) for r in release_requests.for_agreement(session, principal, agreement)]


@router.get("/agreements/{pk}/milestones/{index}/accept-partial")
def partial_acceptance(
    pk: RowId,
    index: MilestoneIndex,
    attestation: Annotated[Hex32, Query()],
    session: SessionDep,
    principal: PrincipalDep,
) -> TypedDataOut:
    """The EIP-712 PartialAcceptance the provider signs to accept a below-target result."""
    digest, data = release.partial_acceptance_typed_data(
        session, principal, agreements.get(session, pk), index, attestation
    )
    return TypedDataOut(primary_type="PartialAcceptance", digest=digest, typed_data=data)


@router.post("/agreements/{pk}/milestones/{index}/accept-partial", status_code=202)
def accept_partial(
    pk: RowId, index: MilestoneIndex, body: AcceptPartialIn, session: SessionDep, chain: ChainDep, principal: WriterDep
) -> IntentOut:
    """Settles a below-target result the provider accepted with a signature, from the relayer's key."""
    agreement = agreements.get(session, pk)
    return _intent(
        release.accept_partial(session, chain, principal, agreement, index, body.attestation, body.signature)
    )


@router.post("/webhooks", status_code=201)
def register_webhook(body: WebhookIn, session: SessionDep, settings: SettingsDep, principal: WriterDep) -> WebhookOut:
    """Notifications of every change to your agreements, POSTed to `url` and signed (the secret is
    shown once). In production the URL must be HTTPS to a public address."""
    hook, secret = webhooks.register(session, principal, str(body.url), settings.environment == "production")
    return WebhookOut(id=hook.id, url=hook.url, created_at=hook.created_at, secret=secret)


@router.get("/webhooks")
def list_webhooks(session: SessionDep, principal: PrincipalDep) -> list[WebhookOut]:
    return [WebhookOut(id=h.id, url=h.url, created_at=h.created_at) for h in webhooks.owned(session, principal)]


@router.delete("/webhooks/{hook_id}", status_code=204)
def delete_webhook(hook_id: RowId, session: SessionDep, principal: WriterDep) -> Response:
    webhooks.remove(session, principal, hook_id)
    return Response(status_code=204)
