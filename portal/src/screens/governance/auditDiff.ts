// Before/after of an audit event, field by field.

export type FieldChange = "added" | "removed" | "changed" | "same";

/** FieldDiff is one leaf field of an audited resource, before and after. */
export interface FieldDiff {
  path: string;
  before?: string;
  after?: string;
  change: FieldChange;
}

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** flatten turns JSON into leaf paths (a.b[0].c) and their values as text; arrays of scalars stay whole. */
export function flatten(value: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (value === undefined) return out;
  if (value === null || typeof value !== "object") {
    out.set(prefix || "(value)", typeof value === "string" ? value : JSON.stringify(value));
    return out;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) {
      out.set(prefix || "(value)", JSON.stringify(value));
      return out;
    }
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    if (value.length === 0) out.set(prefix || "(value)", "[]");
    return out;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) out.set(prefix || "(value)", "{}");
  for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** diffJSON compares an event's before and after JSON texts field by field, in path order. */
export function diffJSON(before: string, after: string): FieldDiff[] {
  const b = flatten(parse(before));
  const a = flatten(parse(after));
  const paths = [...new Set([...b.keys(), ...a.keys()])].sort();
  return paths.map((path) => {
    const x = b.get(path);
    const y = a.get(path);
    const change: FieldChange = x === undefined ? "added" : y === undefined ? "removed" : x === y ? "same" : "changed";
    return { path, before: x, after: y, change };
  });
}

/** AuditFilters are the audit log's filters as they live in the URL. */
export interface AuditFilters {
  actor: string;
  domain: string;
  type: string;
  resource: string;
  action: string;
  since: string;
  until: string;
}

export const FILTER_KEYS: (keyof AuditFilters)[] = ["actor", "domain", "type", "resource", "action", "since", "until"];

/** filtersFrom reads the filters from a query string. */
export function filtersFrom(q: URLSearchParams): AuditFilters {
  const f = {} as AuditFilters;
  for (const k of FILTER_KEYS) f[k] = q.get(k) ?? "";
  return f;
}

/** localInput parses a datetime-local value ("2026-01-31T14:05") as local time; null when empty or invalid. */
export function localInput(v: string): Date | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** keep says whether an event passes the filters the server cannot apply (action text and time). */
export function keep(e: { action: string; time: Date | null }, f: Pick<AuditFilters, "action" | "since" | "until">): boolean {
  if (f.action && !e.action.toLowerCase().includes(f.action.toLowerCase())) return false;
  const since = localInput(f.since);
  const until = localInput(f.until);
  if (since && (!e.time || e.time < since)) return false;
  if (until && (!e.time || e.time > until)) return false;
  return true;
}
