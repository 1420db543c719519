// The user's wallet through EIP-1193 (window.ethereum: MetaMask and the like). The backend never
// holds a key: it prepares messages and transactions, the wallet signs and sends them.
import { createPublicClient, custom, getAddress, stringToHex, toHex } from "viem";
import { api, keepSession } from "./api.js";

function provider() {
  if (!window.ethereum) throw new Error("No wallet found: install a browser wallet such as MetaMask, then reload.");
  return window.ethereum;
}

export async function account() {
  const [address] = await provider().request({ method: "eth_requestAccounts" });
  if (!address) throw new Error("The wallet shared no account.");
  return getAddress(address);
}

/** Sign-In with Ethereum (EIP-4361): a single-use nonce from the backend, signed with personal_sign. */
export async function signIn() {
  const address = await account();
  const offer = await api("POST", "/v1/auth/nonce");
  const issued = new Date();
  const expires = new Date(issued.getTime() + 8 * 3600 * 1000);
  const message = [
    `${offer.domain} wants you to sign in with your Ethereum account:`, address, "", "Sign in to AttestPay", "",
    `URI: ${offer.uri}`, "Version: 1", `Chain ID: ${offer.chain_id}`, `Nonce: ${offer.nonce}`,
    `Issued At: ${issued.toISOString()}`, `Expiration Time: ${expires.toISOString()}`,
  ].join("\n");
  const signature = await provider().request({ method: "personal_sign", params: [stringToHex(message), address] });
  const { token } = await api("POST", "/v1/auth/sign-in", { message, signature });
  keepSession(token, address);
  return address;
}

/** eth_signTypedData_v4 over the EIP-712 document the API prepared (consent, partial acceptance,
 * dispute split, permit). The API sends every integer in it as a decimal string and this passes
 * the document on untouched, so amounts and metric values above 2^53 reach the wallet exact. */
export async function signTypedData(typedData) {
  const address = await account();
  return provider().request({ method: "eth_signTypedData_v4", params: [address, JSON.stringify(typedData)] });
}

/** Sends the prepared transactions one after the other, each once the one before is mined (an
 * ERC-20 approval before the funding), reports each mined escrow transaction to the backend, and
 * tells `progress(index, state, detail)` with state pending, confirmed or failed. */
export async function sendAll(prepared, escrow, progress) {
  const eth = provider();
  const chain = createPublicClient({ transport: custom(eth) });
  const hashes = [];
  for (const [i, tx] of prepared.entries()) {
    progress(i, "pending", tx.description);
    let hash;
    try {
      const fields = { from: tx.from, to: tx.to, data: tx.data, value: toHex(BigInt(tx.value)) };
      if (tx.gas) fields.gas = toHex(Math.ceil(tx.gas * 1.2));
      hash = await eth.request({ method: "eth_sendTransaction", params: [fields] });
      const receipt = await chain.waitForTransactionReceipt({ hash, pollingInterval: 500 });
      if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    } catch (error) {
      progress(i, "failed", walletReason(error));
      throw error;
    }
    if (tx.to.toLowerCase() === escrow.toLowerCase()) await api("POST", "/v1/transactions", { tx_hash: hash });
    progress(i, "confirmed", hash);
    hashes.push(hash);
  }
  return hashes;
}

export function walletReason(error) {
  if (error && error.code === 4001) return "rejected in the wallet";
  return (error && (error.shortMessage || error.message)) || String(error);
}
