// web/src/payout.js against the shared vectors (tests/vectors/eip712.json), the figures that
// attestpay/payout.py and PayoutMath.sol are checked against too. Run by pytest (test_core_payout_js.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { compute } from "../src/payout.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/eip712.json", import.meta.url)));

function milestone(m) {
  const big = (key) => BigInt(m[key]);
  return {
    amount: big("amount"),
    bonus: big("bonus"),
    floor: big("floor"),
    target: big("target"),
    stretch: big("stretch"),
    deadline: big("deadline"),
    floorPayoutBps: big("floorPayoutBps"),
    latePenaltyBpsPerDay: big("latePenaltyBpsPerDay"),
    maxLatePenaltyBps: big("maxLatePenaltyBps"),
    holdbackBps: big("holdbackBps"),
    higherIsBetter: m.higherIsBetter,
  };
}

test("the vectors cover both directions and partial, full and late results", () => {
  const cases = vectors.cases;
  assert.ok(cases.length >= 20);
  assert.ok(cases.some((c) => c.milestone.higherIsBetter) && cases.some((c) => !c.milestone.higherIsBetter));
  const earned = cases.map((c) => Number(c.payout.earnedBps));
  assert.ok(earned.includes(0) && earned.includes(10000) && earned.some((bps) => bps > 0 && bps < 10000));
  assert.ok(cases.some((c) => c.payout.penaltyBps !== "0"));
});

for (const [i, c] of vectors.cases.entries()) {
  test(`case ${i}: payout.js pays what Python and Solidity pay`, () => {
    const p = compute(milestone(c.milestone), BigInt(c.attestation.value), BigInt(c.attestation.observedAt));
    const expected = c.payout;
    assert.deepEqual(
      {
        earnedBps: p.earnedBps,
        base: p.base,
        bonus: p.bonus,
        penalty: p.penalty,
        net: p.net,
        holdback: p.holdback,
        paidNow: p.paidNow,
        refund: p.refund,
      },
      {
        earnedBps: BigInt(expected.earnedBps),
        base: BigInt(expected.base),
        bonus: BigInt(expected.bonusEarned),
        penalty: BigInt(expected.penalty),
        net: BigInt(expected.net),
        holdback: BigInt(expected.holdback),
        paidNow: BigInt(expected.paidNow),
        refund: BigInt(expected.refund),
      },
    );
  });
}
