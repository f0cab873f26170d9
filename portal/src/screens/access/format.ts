// Pure helpers of the Access page: states in words, the request link the
// product page uses, defaults the server applies, and Kafka client settings.
import { AccessRequestState, GrantState } from "../../gen/meshplane/v1/access_pb";
import { Classification, type OutputPort } from "../../gen/meshplane/v1/catalog_pb";
import type { Environment } from "../../gen/meshplane/v1/provisioning_pb";
import type { ApiError } from "../../lib/api";
import type { Tone } from "../../lib/ui";

/** PortChoice is one row of the request form. */
export interface PortChoice {
  domain: string;
  product: string;
  port: string;
}

/**
 * parseRequestParam reads ?request=<domain>/<product>[/<port>] (the link a
 * product page gives consumers) into the form's first port row.
 */
export function parseRequestParam(v: string | null): PortChoice | null {
  if (!v) return null;
  const parts = v.split("/").map((s) => s.trim());
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) return null;
  return { domain: parts[0], product: parts[1], port: parts[2] ?? "" };
}

/** defaultGroupPrefix is the prefix the server uses when none is given: <domain>.<service-account>. */
export function defaultGroupPrefix(domain: string, serviceAccount: string): string {
  return domain && serviceAccount ? `${domain}.${serviceAccount}.` : "";
}

/**
 * accessEnvironment names the environment consumers read in unless they
 * choose another: the one marked for access, else the default one, as the
 * server picks when a request names none.
 */
export function accessEnvironment(envs: Pick<Environment, "name" | "access" | "default">[]): string {
  return (envs.find((e) => e.access) ?? envs.find((e) => e.default) ?? envs[0])?.name ?? "";
}

/** environmentLabel names an environment with what sets it apart, for a choice list. */
export function environmentLabel(e: Pick<Environment, "name" | "access" | "default" | "sandbox">): string {
  const notes = [e.access && "consumer access", e.default && "default", e.sandbox && "sandbox"].filter(Boolean);
  return notes.length ? `${e.name} (${notes.join(", ")})` : e.name;
}

/** daysToSeconds turns the form's days into durationSeconds; empty asks for the policy's maximum (0). */
export function daysToSeconds(days: string): bigint | null {
  const t = days.trim();
  if (t === "") return 0n;
  const n = Number(t);
  if (!Number.isFinite(n) || n <= 0) return null;
  return BigInt(Math.round(n * 86400));
}

/** personalFields lists a port's fields that make it personal data for the access policy. */
export function personalFields(port: OutputPort | undefined): { pii: string[]; sensitive: string[]; unclassified: string[] } {
  const out = { pii: [] as string[], sensitive: [] as string[], unclassified: [] as string[] };
  for (const f of port?.fields ?? []) {
    if (f.classification === Classification.PII) out.pii.push(f.name);
    else if (f.classification === Classification.SENSITIVE) out.sensitive.push(f.name);
    else if (f.classification === Classification.UNSPECIFIED) out.unclassified.push(f.name);
  }
  return out;
}

/** holdsPersonalData says whether the default access policy treats a port as personal data. */
export function holdsPersonalData(port: OutputPort | undefined): boolean {
  const p = personalFields(port);
  return p.pii.length + p.sensitive.length + p.unclassified.length > 0;
}

/** requestState is a request's state in words, with a badge tone. */
export function requestState(s: AccessRequestState): { label: string; tone: Tone } {
  switch (s) {
    case AccessRequestState.PENDING:
      return { label: "Waiting for approval", tone: "warn" };
    case AccessRequestState.APPROVED:
      return { label: "Approved", tone: "good" };
    case AccessRequestState.DECLINED:
      return { label: "Declined", tone: "bad" };
    case AccessRequestState.CANCELLED:
      return { label: "Cancelled", tone: "neutral" };
    default:
      return { label: "Unknown", tone: "neutral" };
  }
}

/** grantState is a grant's state in words: can the consumer read now? */
export function grantState(s: GrantState): { label: string; tone: Tone; help: string } {
  switch (s) {
    case GrantState.PENDING:
      return { label: "Waiting for approval", tone: "neutral", help: "The request still needs approvals." };
    case GrantState.APPROVED:
      return { label: "Approved", tone: "info", help: "Approved; a plan will add the ACLs." };
    case GrantState.PROVISIONING:
      return { label: "Being set up", tone: "info", help: "A plan is adding the ACLs; the consumer cannot read yet." };
    case GrantState.ACTIVE:
      return { label: "Active", tone: "good", help: "The broker lets the consumer read." };
    case GrantState.REVOKING:
      return { label: "Being revoked", tone: "warn", help: "A plan removes the ACLs; the consumer can read until it applies." };
    case GrantState.EXPIRING:
      return { label: "Expiring", tone: "warn", help: "A plan removes the ACLs; the consumer can read until it applies." };
    case GrantState.EXPIRED:
      return { label: "Expired", tone: "neutral", help: "Access ended when its duration ran out." };
    case GrantState.REVOKED:
      return { label: "Revoked", tone: "neutral", help: "Access was revoked." };
    case GrantState.DECLINED:
      return { label: "Declined", tone: "bad", help: "The request was declined." };
    case GrantState.CANCELLED:
      return { label: "Cancelled", tone: "neutral", help: "The request was cancelled." };
    default:
      return { label: "Unknown", tone: "neutral", help: "" };
  }
}

/** revocable says whether a grant in this state can be revoked (pending ones are declined or cancelled instead). */
export function revocable(s: GrantState): boolean {
  return s === GrantState.APPROVED || s === GrantState.PROVISIONING || s === GrantState.ACTIVE;
}

/** exactViolations returns the messages for exactly one field path (not its children). */
export function exactViolations(err: ApiError | null | undefined, path: string): string[] {
  return err ? err.violations.filter((v) => v.field === path).map((v) => v.message) : [];
}

/** unpinned returns an error when some violation is not shown next to one of the given fields. */
export function unpinned(err: ApiError | null | undefined, pinned: (field: string) => boolean): ApiError | null {
  if (!err) return null;
  if (err.violations.length === 0) return err;
  const rest = err.violations.filter((v) => !pinned(v.field));
  return rest.length ? { ...err, violations: rest } : null;
}

/** kafkaClientProperties are the settings a Kafka client needs for a SCRAM credential. */
export function kafkaClientProperties(c: {
  bootstrapServers: string[];
  securityProtocol: string;
  mechanism: string;
  username: string;
  password: string;
  groupPrefix?: string;
}): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const lines = [
    `bootstrap.servers=${c.bootstrapServers.join(",")}`,
    `security.protocol=${c.securityProtocol || "SASL_SSL"}`,
    `sasl.mechanism=${c.mechanism || "SCRAM-SHA-512"}`,
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${esc(c.username)}" password="${esc(c.password)}";`,
  ];
  if (c.groupPrefix) lines.push(`group.id=${c.groupPrefix}my-app`);
  return lines.join("\n") + "\n";
}
