// The settlement formula of escrow-semantics.md (steps 1-7), as attestpay/payout.py and PayoutMath.sol
// compute it, on BigInt: for drawing the payout curve while terms are typed. The API's preview is the authority.

const BPS = 10000n;
const DAY = 86400n;

const reaches = (value, mark, up) => (up ? value >= mark : value <= mark);
const distance = (start, end, up) => (up ? end - start : start - end);

export function compute(m, value, observedAt) {
  const up = m.higherIsBetter;
  let earnedBps;
  if (!reaches(value, m.floor, up)) earnedBps = 0n;
  else if (reaches(value, m.target, up)) earnedBps = BPS;
  else earnedBps = m.floorPayoutBps + ((BPS - m.floorPayoutBps) * distance(m.floor, value, up)) / distance(m.floor, m.target, up);
  const base = (m.amount * earnedBps) / BPS;
  let bonus;
  if (m.bonus === 0n || reaches(m.target, value, up)) bonus = 0n;
  else if (reaches(value, m.stretch, up)) bonus = m.bonus;
  else bonus = (m.bonus * distance(m.target, value, up)) / distance(m.target, m.stretch, up);
  const late = observedAt <= m.deadline ? 0n : (observedAt - m.deadline + DAY - 1n) / DAY;
  const penaltyBps = late * m.latePenaltyBpsPerDay < m.maxLatePenaltyBps ? late * m.latePenaltyBpsPerDay : m.maxLatePenaltyBps;
  const gross = base + bonus;
  const penalty = (gross * penaltyBps) / BPS;
  const net = gross - penalty;
  const holdback = (net * m.holdbackBps) / BPS;
  return { earnedBps, base, bonus, penalty, net, holdback, paidNow: net - holdback, refund: m.amount + m.bonus - net };
}
