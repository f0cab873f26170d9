// Plain-language descriptions of policy results, for people who do not read Rego.
import type { AccessOutcome, MaskingDecision } from "../../gen/meshplane/v1/policy_pb";

/** describeMasking says what a masking decision does to a field's values. */
export function describeMasking(d: MaskingDecision | undefined): string {
  if (!d) return "no decision (the field is not there)";
  let s: string;
  switch (d.action) {
    case "allow":
      s = "kept as it is";
      break;
    case "hash":
      s = `hashed (${d.algorithm || "SHA-256"}${d.salt ? `, salt “${d.salt}”` : ""})`;
      break;
    case "mask":
      s = d.chars > 0 ? `masked with ${d.chars} “*” characters` : "masked";
      break;
    case "truncate":
      s = d.length > 0 ? `truncated to its first ${d.length} characters` : "truncated";
      break;
    case "drop":
      s = "dropped (never published)";
      break;
    default:
      s = d.action || "no action";
  }
  if (d.fallback) s += " — meshplane's safe fallback, because the policy could not decide";
  return s;
}

/** maskingStrictness orders actions from least to most protective, to say whether a change tightens. */
const strictness: Record<string, number> = { allow: 0, truncate: 1, mask: 2, hash: 3, drop: 4 };

/** maskingDirection says whether a change protects a field more, less, or differently. */
export function maskingDirection(before?: MaskingDecision, after?: MaskingDecision): "stricter" | "looser" | "different" {
  const b = before ? strictness[before.action] ?? -1 : 0;
  const a = after ? strictness[after.action] ?? -1 : 0;
  if (b < 0 || a < 0 || a === b) return "different";
  return a > b ? "stricter" : "looser";
}

/** approverLabel turns "domain-owner:sales" into "an owner of sales". */
export function approverLabel(a: string): string {
  if (a === "governance-officer") return "a governance officer";
  const [role, domain] = a.split(":", 2);
  if (role === "domain-owner") return domain ? `an owner of ${domain}` : "a domain owner";
  return domain ? `${role} of ${domain}` : role;
}

/** days renders seconds as days, rounded to a tenth when not whole. */
export function days(seconds: bigint | number): string {
  const s = Number(seconds);
  if (!s) return "—";
  const d = s / 86400;
  if (d >= 1) {
    const r = Math.round(d * 10) / 10;
    return `${r} day${r === 1 ? "" : "s"}`;
  }
  const h = Math.round((s / 3600) * 10) / 10;
  return `${h} hour${h === 1 ? "" : "s"}`;
}

/** describeOutcome summarises what the access policy decides for a request. */
export function describeOutcome(o: AccessOutcome | undefined): string {
  if (!o) return "—";
  const parts: string[] = [];
  if (o.autoApprove) parts.push("approved automatically");
  else if (o.approvers.length) parts.push("needs " + o.approvers.map(approverLabel).join(" and "));
  else parts.push("needs no approver");
  if (o.maxDurationSeconds) parts.push(`at most ${days(o.maxDurationSeconds)}`);
  if (o.failedClosed) parts.push("policy failed: safe fallback");
  return parts.join("; ");
}
