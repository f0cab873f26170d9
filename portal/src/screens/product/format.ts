// Pure helpers of the product page: human units, what a masking decision
// means for a field, how a preview record reads as a table row, and short
// summaries of decisions and audit events. Unit-tested in Product.test.tsx.
import { Classification, CleanupPolicy, FieldType, type Field } from "../../gen/meshplane/v1/catalog_pb";
import type { MaskingDecision } from "../../gen/meshplane/v1/policy_pb";
import { RunState } from "../../gen/meshplane/v1/provisioning_pb";
import { GrantState } from "../../gen/meshplane/v1/access_pb";
import type { Tone } from "../../lib/ui";

const units: [number, string][] = [
  [365 * 24 * 3600 * 1000, "year"],
  [7 * 24 * 3600 * 1000, "week"],
  [24 * 3600 * 1000, "day"],
  [3600 * 1000, "hour"],
  [60 * 1000, "minute"],
  [1000, "second"],
];

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/**
 * duration says a span of milliseconds in the largest unit that divides it
 * exactly ("7 days", "36 hours"), else approximately ("about 1.5 days").
 */
export function duration(ms: number): string {
  if (ms <= 0) return "0 seconds";
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) {
      // Prefer days over weeks unless whole weeks read naturally (up to 4).
      if (unit === "week" && ms / size > 4) continue;
      return plural(ms / size, unit);
    }
  }
  for (const [size, unit] of units) {
    if (ms >= size) return `about ${Math.round((ms / size) * 10) / 10} ${unit}s`;
  }
  return plural(ms, "millisecond");
}

/** retention says how long a topic keeps records; -1 is forever. */
export function retention(ms: bigint): string {
  if (ms === -1n) return "forever (records are never deleted for age)";
  if (ms === 0n) return "the cluster's default";
  return duration(Number(ms));
}

export const cleanupWords: Record<CleanupPolicy, string> = {
  [CleanupPolicy.UNSPECIFIED]: "default (delete old records)",
  [CleanupPolicy.DELETE]: "delete records older than the retention",
  [CleanupPolicy.COMPACT]: "compact: keep the latest record of each key",
  [CleanupPolicy.COMPACT_DELETE]: "compact, and delete records older than the retention",
};

export const fieldTypeWords: Record<FieldType, string> = {
  [FieldType.UNSPECIFIED]: "unspecified",
  [FieldType.STRING]: "text",
  [FieldType.INT32]: "integer (32-bit)",
  [FieldType.INT64]: "integer (64-bit)",
  [FieldType.FLOAT]: "decimal number (float)",
  [FieldType.DOUBLE]: "decimal number (double)",
  [FieldType.BOOLEAN]: "true/false",
  [FieldType.BYTES]: "bytes",
  [FieldType.DECIMAL]: "exact decimal",
  [FieldType.DATE]: "date",
  [FieldType.TIMESTAMP]: "date and time",
  [FieldType.JSON]: "JSON",
};

/** policyPart picks one module's version out of "access@1,admission@1,masking@2". */
export function policyPart(version: string, module: string): string {
  return version.split(",").find((p) => p.trim().startsWith(module + "@"))?.trim() ?? version;
}

/** topicDecision is the decision for a field at the topic (not a sink). */
export function topicDecision(ds: MaskingDecision[] | undefined, port: string, field: string): MaskingDecision | undefined {
  return ds?.find((d) => d.port === port && d.field === field && d.sink === "");
}

/** decisionWord is the one-word outcome of a masking decision. */
export function decisionWord(d: MaskingDecision | undefined): string {
  if (!d) return "no decision";
  return ({ allow: "raw", hash: "hashed", mask: "masked", truncate: "truncated", drop: "withheld" } as Record<string, string>)[d.action] ?? d.action;
}

/** decisionDetail says how a masking decision treats a field, after its word. */
export function decisionDetail(d: MaskingDecision | undefined): string {
  if (!d) return "the policy gave no decision for this field";
  let s: string;
  switch (d.action) {
    case "allow":
      s = "published as stored";
      break;
    case "hash":
      s = `at source with ${d.algorithm || "SHA-256"}${d.salt ? `, salt “${d.salt}”` : ""}`;
      break;
    case "mask":
      s = d.chars > 0 ? `at source: replaced by ${d.chars} asterisks` : "at source";
      break;
    case "truncate":
      s = d.length > 0 ? `at source to ${d.length} characters` : "at source";
      break;
    case "drop":
      s = "removed at source, never reaches Kafka";
      break;
    default:
      s = "";
  }
  if (d.fallback) s += (s ? " " : "") + "(the policy could not decide, so meshplane chose the safe option)";
  return s;
}

/** decisionText says what a masking decision does to a field, in words. */
export function decisionText(d: MaskingDecision | undefined): string {
  const detail = decisionDetail(d);
  return detail ? `${decisionWord(d)} — ${detail}` : decisionWord(d);
}

/** decisionTone colors a decision badge; the words say the same. */
export function decisionTone(d: MaskingDecision | undefined): Tone {
  switch (d?.action) {
    case "allow":
      return "neutral";
    case "drop":
      return "bad";
    case undefined:
      return "warn";
    default:
      return "info";
  }
}

/** sinkText says what a sink's own decision does, e.g. "dropped in this sink". */
export function sinkDecisionText(d: MaskingDecision): string {
  return decisionText(d).replace("removed at source, never reaches Kafka", "removed before the sink").replace(" at source", " in this sink");
}

/** What a previewing reader sees of one field, and why. */
export interface FieldView {
  shown: "raw" | "hashed" | "masked" | "truncated" | "pseudonymised" | "withheld";
  why: string;
}

const sourceVerb: Record<string, FieldView["shown"]> = { hash: "hashed", mask: "masked", truncate: "truncated" };

/**
 * explainField says what a reader of the preview sees of a field: the
 * connector's decision at the source first, then the reader's own masking
 * (without the right to read personal data, PII is pseudonymised and
 * sensitive or unclassified fields are withheld).
 */
export function explainField(f: Pick<Field, "classification" | "key">, d: MaskingDecision | undefined, rawPii: boolean): FieldView {
  const personal = f.classification === Classification.PII;
  const open = f.classification === Classification.NONE || f.classification === Classification.INTERNAL;
  if (d?.action === "drop") {
    return { shown: "withheld", why: "removed at source by the Debezium connector: the topic never holds it." };
  }
  if (d && sourceVerb[d.action]) {
    const atSource = `masked at source by the Debezium connector (${d.action})`;
    if (rawPii || open) return { shown: sourceVerb[d.action], why: `${atSource}; you see it as the topic holds it.` };
    if (personal) return { shown: "pseudonymised", why: `${atSource}, then pseudonymised for you because you may not read personal data.` };
    return { shown: "withheld", why: `${atSource}, then withheld from you because it is not classified as safe to show.` };
  }
  const key = f.key ? " It is part of the record key, which stays unmasked." : "";
  if (rawPii) {
    return {
      shown: "raw",
      why: personal ? "raw: you may read personal data, so you see it as the topic holds it (raw reads are audited)." + key : "raw: shown as the topic holds it." + key,
    };
  }
  if (open) return { shown: "raw", why: "raw: not personal or sensitive, shown as the topic holds it." + key };
  if (personal) return { shown: "pseudonymised", why: "replaced by a pseudonym (hmac-sha256) because you may not read personal data." };
  return {
    shown: "withheld",
    why:
      f.classification === Classification.SENSITIVE
        ? "withheld: sensitive fields are never shown to readers without the right to read personal data."
        : "withheld: unclassified fields are treated as sensitive.",
  };
}

export const shownTone: Record<FieldView["shown"], Tone> = {
  raw: "neutral",
  hashed: "info",
  masked: "info",
  truncated: "info",
  pseudonymised: "pii",
  withheld: "bad",
};

const opWords: Record<string, string> = { c: "insert", u: "update", d: "delete", r: "snapshot", t: "truncate" };

/** A preview record laid out as a table row. */
export interface PreviewRow {
  /** op is the change kind of a Debezium event (insert, update…); empty for plain records. */
  op: string;
  /** cells hold the text of each declared field, "" when the record lacks it. */
  cells: Record<string, string>;
  /** absent lists declared fields the record does not carry. */
  absent: string[];
  /** extra holds members the port does not declare. */
  extra: Record<string, string>;
  /** raw is the value text when it is not a JSON object (or null). */
  raw: string | null;
}

function text(v: unknown): string {
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * previewRow reads a record value (JSON text after masking) as a row of the
 * port's fields: a Debezium envelope shows its after image (before for a
 * delete), the JSON converter's {schema, payload} form its payload.
 */
export function previewRow(value: string, fields: string[]): PreviewRow {
  const row: PreviewRow = { op: "", cells: {}, absent: [], extra: {}, raw: null };
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    row.raw = value;
    row.absent = [...fields];
    return row;
  }
  const declared = new Set(fields);
  if (isObject(doc) && "payload" in doc && "schema" in doc && Object.keys(doc).length === 2 && !declared.has("payload")) doc = doc.payload;
  let image = doc;
  if (isObject(doc) && typeof doc.op === "string" && ("after" in doc || "before" in doc) && !declared.has("op")) {
    row.op = opWords[doc.op] ?? doc.op;
    image = isObject(doc.after) ? doc.after : doc.before;
  }
  if (!isObject(image)) {
    row.raw = value;
    row.absent = [...fields];
    return row;
  }
  for (const f of fields) {
    if (f in image) row.cells[f] = text(image[f]);
    else row.absent.push(f);
  }
  for (const [k, v] of Object.entries(image)) if (!declared.has(k)) row.extra[k] = text(v);
  return row;
}

/** compactKey shows a record key: a one-member object as its value, else compact JSON. */
export function compactKey(key: string): string {
  try {
    const k = JSON.parse(key);
    if (k === null) return "";
    if (isObject(k)) {
      const inner = isObject(k.payload) && "schema" in k ? k.payload : k;
      const vals = Object.entries(inner);
      if (vals.length === 1) return text(vals[0][1]);
      return JSON.stringify(inner);
    }
    return text(k);
  } catch {
    return key;
  }
}

export const runStateWords: Record<RunState, string> = {
  [RunState.UNSPECIFIED]: "unknown",
  [RunState.QUEUED]: "queued",
  [RunState.PLANNING]: "planning",
  [RunState.PLANNED]: "planned — awaiting approval",
  [RunState.APPLYING]: "applying",
  [RunState.APPLIED]: "applied",
  [RunState.FAILED]: "failed",
  [RunState.CANCELLED]: "cancelled",
  [RunState.INTERRUPTED]: "interrupted",
};

export const runStateTones: Record<RunState, Tone> = {
  [RunState.UNSPECIFIED]: "neutral",
  [RunState.QUEUED]: "info",
  [RunState.PLANNING]: "info",
  [RunState.PLANNED]: "warn",
  [RunState.APPLYING]: "info",
  [RunState.APPLIED]: "good",
  [RunState.FAILED]: "bad",
  [RunState.CANCELLED]: "neutral",
  [RunState.INTERRUPTED]: "warn",
};

/** runBusy reports whether a run may still change by itself. */
export function runBusy(s: RunState): boolean {
  return s === RunState.QUEUED || s === RunState.PLANNING || s === RunState.APPLYING;
}

export const grantStateWords: Record<GrantState, string> = {
  [GrantState.UNSPECIFIED]: "unknown",
  [GrantState.PENDING]: "pending approval",
  [GrantState.APPROVED]: "approved",
  [GrantState.PROVISIONING]: "provisioning",
  [GrantState.ACTIVE]: "active",
  [GrantState.REVOKING]: "revoking",
  [GrantState.EXPIRING]: "expiring",
  [GrantState.EXPIRED]: "expired",
  [GrantState.REVOKED]: "revoked",
  [GrantState.DECLINED]: "declined",
  [GrantState.CANCELLED]: "cancelled",
};

export const grantStateTones: Record<GrantState, Tone> = {
  [GrantState.UNSPECIFIED]: "neutral",
  [GrantState.PENDING]: "warn",
  [GrantState.APPROVED]: "info",
  [GrantState.PROVISIONING]: "info",
  [GrantState.ACTIVE]: "good",
  [GrantState.REVOKING]: "warn",
  [GrantState.EXPIRING]: "warn",
  [GrantState.EXPIRED]: "neutral",
  [GrantState.REVOKED]: "neutral",
  [GrantState.DECLINED]: "neutral",
  [GrantState.CANCELLED]: "neutral",
};

/** everyGrantState lists every state, to ask for ended grants too. */
export const everyGrantState: GrantState[] = Object.values(GrantState).filter(
  (v): v is GrantState => typeof v === "number" && v !== GrantState.UNSPECIFIED,
);

interface RawViolation {
  path?: string;
  Path?: string;
  message?: string;
  Message?: string;
}

/** decisionSummary says in a line what a logged policy decision decided. */
export function decisionSummary(kind: string, result: string): string {
  let r: unknown;
  try {
    r = JSON.parse(result);
  } catch {
    return "";
  }
  if (!isObject(r)) return "";
  if (kind === "admission") {
    const vs = (Array.isArray(r.violations) ? r.violations : []) as RawViolation[];
    if (r.allowed === true && vs.length === 0) return "admitted: no policy rule refuses the product";
    const msgs = vs.map((v) => {
      const path = v.path ?? v.Path ?? "";
      const msg = v.message ?? v.Message ?? "";
      return path ? `${path}: ${msg}` : msg;
    });
    return msgs.length ? `refused: ${msgs.join("; ")}` : r.allowed ? "admitted" : "refused";
  }
  if (kind === "masking") {
    const ds = (Array.isArray(r.decisions) ? r.decisions : []) as Record<string, unknown>[];
    const counts = new Map<string, number>();
    for (const d of ds) {
      const a = String(d.action ?? d.Action ?? "?");
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    const word: Record<string, string> = { allow: "raw", hash: "hashed", mask: "masked", truncate: "truncated", drop: "dropped" };
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([a, n]) => `${n} ${word[a] ?? a}`);
    return `${ds.length} field decision${ds.length === 1 ? "" : "s"}${parts.length ? ": " + parts.join(", ") : ""}`;
  }
  return "";
}

const auditWords: Record<string, string> = {
  "catalog.CreateDataProduct": "Registered the product",
  "catalog.UpdateDataProduct": "Changed the product",
  "catalog.DeleteDataProduct": "Deleted the draft",
  "catalog.PreviewRawPII": "Previewed records with raw personal data",
  "provision.Decommissioned": "Decommissioned: infrastructure destroyed, product retired",
  "provision.DecommissionIncomplete": "Decommission incomplete: resources were left in the data plane; the product was not retired",
};

/** auditAction says an audit action in words, falling back to its code. */
export function auditAction(action: string): string {
  return auditWords[action] ?? action;
}

/** Members every change touches, left out of a change summary. */
const bookkeeping = new Set(["version", "update_time", "updateTime", "updated_by", "updatedBy"]);

/**
 * changedMembers lists the top-level members whose values differ between an
 * audit event's before and after JSON (bookkeeping members left out).
 */
export function changedMembers(before: string, after: string): string[] {
  const parse = (s: string): Record<string, unknown> => {
    if (!s) return {};
    try {
      const v = JSON.parse(s);
      return isObject(v) ? v : {};
    } catch {
      return {};
    }
  };
  const b = parse(before);
  const a = parse(after);
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  return [...keys].filter((k) => !bookkeeping.has(k) && JSON.stringify(b[k]) !== JSON.stringify(a[k])).sort();
}

/** shortId shortens a UUID for display (its random tail); the full id stays in links. */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(-8) : id;
}

/** newestFirst orders preview records by write time, newest first, then by offset. */
export function newestFirst<T extends { timestamp?: { seconds: bigint; nanos: number }; partition: number; offset: bigint }>(records: T[]): T[] {
  const t = (r: T) => (r.timestamp ? Number(r.timestamp.seconds) * 1000 + Math.floor(r.timestamp.nanos / 1e6) : 0);
  return [...records].sort((a, b) => t(b) - t(a) || (b.offset > a.offset ? 1 : b.offset < a.offset ? -1 : b.partition - a.partition));
}
