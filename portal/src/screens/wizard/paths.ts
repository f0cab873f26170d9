// Where the server's field violations belong in the wizard. The server names
// every problem by its request path ("spec.ports[0].fields[2].classification",
// `spec.labels["Tier"]`, "domain"); these helpers say which step shows it and
// whether an input on that step displays it beside itself.
import type { ApiError, Violation } from "../../lib/api";

export type StepId = "basics" | "source" | "tables" | "ports" | "sinks" | "review";

export const steps: { id: StepId; label: string; title: string }[] = [
  { id: "basics", label: "Basics", title: "Basics: name, owner and labels" },
  { id: "source", label: "Source", title: "Source database" },
  { id: "tables", label: "Tables", title: "Tables to capture" },
  { id: "ports", label: "Ports & fields", title: "Output ports and their fields" },
  { id: "sinks", label: "Sinks", title: "Sinks: where the data is delivered" },
  { id: "review", label: "Review", title: "Review, then save and plan" },
];

export function isStep(s: string | null | undefined): s is StepId {
  return !!s && steps.some((x) => x.id === s);
}

/** stepOf says which step a violation path belongs to. Paths no step owns go to review. */
export function stepOf(path: string): StepId {
  if (path === "domain" || path === "name" || path === "version" || path === "lifecycle") return "basics";
  if (/^spec\.(description|owner|labels)(\b|\[|\.|$)/.test(path)) return "basics";
  if (/^spec\.source\.tables(\[|$)/.test(path)) return "tables";
  if (/^spec\.source(\.|$)/.test(path)) return "source";
  if (/^spec\.ports(\[|\.|$)/.test(path)) return "ports";
  if (/^spec\.sinks(\[|\.|$)/.test(path)) return "sinks";
  return "review";
}

// Paths an input (or a group of inputs) of the wizard shows beside itself.
const pinnedPatterns: RegExp[] = [
  /^(domain|name)$/,
  /^spec\.(description|owner)$/,
  /^spec\.labels(\[.*)?$/,
  /^spec\.source\.(kind|host|port|database|username|secretRef)$/,
  /^spec\.source\.tables(\[\d+\])?$/,
  /^spec\.ports\[\d+\]\.(name|description|partitions|retentionMs|cleanupPolicy|table|majorVersion|topic)$/,
  /^spec\.ports\[\d+\]\.fields$/,
  /^spec\.ports\[\d+\]\.fields\[\d+\]\.(name|type|nullable|description|classification|key)$/,
  /^spec\.ports\[\d+\]\.fields\[\d+\]\.tags(\[\d+\])?$/,
  /^spec\.sinks\[\d+\]$/,
  /^spec\.sinks\[\d+\]\.(name|ports(\[\d+\])?)$/,
  /^spec\.sinks\[\d+\]\.(bigquery|s3|jdbc|elasticsearch)\.[A-Za-z]+(\[\d+\])?$/,
];

/** isPinned reports whether some input of the wizard shows this path's messages beside itself. */
export function isPinned(path: string): boolean {
  return pinnedPatterns.some((re) => re.test(path));
}

/** exactly returns the messages for exactly this path (not its children). */
export function exactly(err: ApiError | null | undefined, path: string): string[] {
  if (!err) return [];
  return err.violations.filter((v) => v.field === path).map((v) => v.message);
}

/** unpinnedFor returns the violations of a step that no input shows: the step's banner lists them. */
export function unpinnedFor(err: ApiError | null | undefined, step: StepId): Violation[] {
  if (!err) return [];
  return err.violations.filter((v) => stepOf(v.field) === step && (step === "review" || !isPinned(v.field)));
}

/** countByStep counts the violations each step owns. */
export function countByStep(err: ApiError | null | undefined): Record<StepId, number> {
  const out: Record<StepId, number> = { basics: 0, source: 0, tables: 0, ports: 0, sinks: 0, review: 0 };
  for (const v of err?.violations ?? []) out[stepOf(v.field)] += 1;
  return out;
}

/** describePath turns a violation path into words a person can find in the form. */
export function describePath(path: string, names?: { ports?: string[]; fields?: string[][]; sinks?: string[] }): string {
  const m = /^spec\.ports\[(\d+)\](?:\.fields\[(\d+)\])?(?:\.(\w+))?/.exec(path);
  if (m) {
    const i = Number(m[1]);
    const port = names?.ports?.[i] ? `port “${names.ports[i]}”` : `port ${i + 1}`;
    if (m[2] !== undefined) {
      const j = Number(m[2]);
      const field = names?.fields?.[i]?.[j] ? `field “${names.fields[i][j]}”` : `field ${j + 1}`;
      const rest = path.slice(m[0].length - (m[3] ? m[3].length + 1 : 0)).replace(/^\./, "");
      return `${port}, ${field}${rest ? ", " + humanize(rest) : ""}`;
    }
    return `${port}${m[3] ? ", " + humanize(m[3]) : ""}`;
  }
  const s = /^spec\.sinks\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (s) {
    const k = Number(s[1]);
    const sink = names?.sinks?.[k] ? `sink “${names.sinks[k]}”` : `sink ${k + 1}`;
    return `${sink}${s[2] ? ", " + humanize(s[2]) : ""}`;
  }
  const t = /^spec\.source\.tables\[(\d+)\]$/.exec(path);
  if (t) return `table ${Number(t[1]) + 1}`;
  const l = /^spec\.labels\["(.*)"\]$/.exec(path);
  if (l) return `label “${l[1]}”`;
  if (path === "spec") return "the product";
  return humanize(path.replace(/^spec\./, ""));
}

function humanize(p: string): string {
  return p
    .replace(/\[(\d+)\]/g, (_, n) => ` ${Number(n) + 1}`)
    .replace(/\./g, " › ")
    .replace(/([a-z])([A-Z])/g, (_, a, b) => `${a} ${b.toLowerCase()}`)
    .replace(/^source › /, "source ")
    .replace(/\bref\b/i, "reference")
    .replace(/retention ms/, "retention")
    .replace(/\bms\b/, "");
}
