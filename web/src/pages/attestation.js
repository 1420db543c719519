// One attestation: value, signers, evidence, anchoring proof, revocation.
import { api, openDocument } from "../api.js";
import { view, esc, date, metric, toast } from "../ui.js";

export async function attestationPage(pk, digest) {
  const report = await api("GET", `/v1/agreements/${pk}/audit-report`);
  const x = report.attestations.find((r) => r.digest.toLowerCase() === digest.toLowerCase());
  if (!x) throw new Error(`No attestation ${digest} for this agreement.`);
  const m = report.agreement.milestones[x.milestone_index];
  const an = x.anchoring;
  let anchoring = "not anchored yet (oracles anchor their signed attestations in periodic Merkle batches)";
  if (an.root) {
    anchoring = `in the batch with root <span class="hash">${esc(an.root)}</span> (${an.batch_size} attestations, anchored by <span class="hash">${esc(an.anchorer)}</span>`
      + ` at ${date(an.anchored_at)}); the registry ${an.anchored ? "confirms" : "does NOT confirm"} the inclusion proof:`
      + `<ol>${an.proof.map((p) => `<li class="hash">${esc(p)}</li>`).join("")}</ol>`;
  }
  view.innerHTML = `<h1>Attestation for “${esc(m.title)}”</h1><section><table><tbody>
    <tr><th scope="row">Value</th><td>${metric(x.value, m)} (${x.meets_target ? "meets" : "below"} the target ${metric(m.target, m)})</td></tr>
    <tr><th scope="row">Observed at</th><td>${date(x.observed_at)}</td></tr>
    <tr><th scope="row">Valid until</th><td>${date(x.expires_at)}</td></tr>
    <tr><th scope="row">Digest (EIP-712)</th><td class="hash">${esc(x.digest)}</td></tr>
    <tr><th scope="row">Evidence hash</th><td><span class="hash">${esc(x.evidence_hash)}</span> <span class="muted">(keccak256 of the raw evidence the oracles published)</span>
      <div class="actions"><button class="secondary" id="evidence">Download the evidence</button></div></td></tr>
    <tr><th scope="row">Metric id</th><td class="hash">${esc(x.metric_id)}</td></tr>
    <tr><th scope="row">Signers</th><td>${x.signers.map((s) => `<div class="hash">${esc(s)}</div>`).join("")} ${x.signers.length} of the threshold ${x.threshold}</td></tr>
    <tr><th scope="row">Anchoring</th><td>${anchoring}</td></tr>
    <tr><th scope="row">Revoked</th><td>${x.anchoring.revoked ? `<span class="error">yes: it can no longer settle anything</span>` : "no"}</td></tr>
    </tbody></table></section><p><a href="#/agreements/${pk}">Back to the agreement</a></p>`;
  view.querySelector("#evidence").onclick = () => openDocument(`/v1/evidence/${x.evidence_hash}`).catch((e) => toast(e.message));
}
