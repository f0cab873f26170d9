// What a reviewer needs from a run: its phases as a stepper, and the plan's
// resource changes grouped by what they mean for the data product (source
// connector, topics, ACLs, sinks, masking, consumer grants) instead of by
// Terraform address.
import { RunState, type AttributeChange, type ResourceChange } from "../../gen/meshplane/v1/provisioning_pb";

// ---- Phases ----

export type PhaseStatus = "done" | "current" | "upcoming" | "stopped";
export interface Phase {
  id: string;
  label: string;
  status: PhaseStatus;
  tone?: "good" | "bad" | "warn";
}

const linear: { state: RunState; id: string; label: string }[] = [
  { state: RunState.QUEUED, id: "queued", label: "Queued" },
  { state: RunState.PLANNING, id: "planning", label: "Planning" },
  { state: RunState.PLANNED, id: "planned", label: "Planned, awaiting approval" },
  { state: RunState.APPLYING, id: "applying", label: "Applying" },
  { state: RunState.APPLIED, id: "applied", label: "Applied" },
];

export function isFinished(s: RunState): boolean {
  return s === RunState.APPLIED || s === RunState.FAILED || s === RunState.CANCELLED || s === RunState.INTERRUPTED;
}

/** isSettled: the server's watch stream ends here (a planned run waits for a person). */
export function isSettled(s: RunState): boolean {
  return isFinished(s) || s === RunState.PLANNED;
}

export function stateLabel(s: RunState): string {
  switch (s) {
    case RunState.QUEUED:
      return "queued";
    case RunState.PLANNING:
      return "planning";
    case RunState.PLANNED:
      return "planned";
    case RunState.APPLYING:
      return "applying";
    case RunState.APPLIED:
      return "applied";
    case RunState.FAILED:
      return "failed";
    case RunState.CANCELLED:
      return "cancelled";
    case RunState.INTERRUPTED:
      return "interrupted";
    default:
      return "unknown";
  }
}

/**
 * phases lays a run's state out as steps. A run that stopped (failed,
 * cancelled, interrupted) shows the phases it reached, then how it ended.
 * reached says how far it got: approved runs reached applying, runs with a
 * plan reached planned, started runs reached planning.
 */
export function phases(state: RunState, reached: { approved: boolean; planned: boolean; started: boolean }): Phase[] {
  const at = linear.findIndex((p) => p.state === state);
  if (at >= 0) {
    return linear.map((p, i) => ({
      id: p.id,
      label: p.label,
      status: i < at ? "done" : i === at ? "current" : "upcoming",
      tone: state === RunState.APPLIED && i === at ? "good" : undefined,
    }));
  }
  const last = reached.approved ? 3 : reached.planned ? 2 : reached.started ? 1 : 0;
  const out: Phase[] = linear.slice(0, last + 1).map((p, i) => ({ id: p.id, label: p.label, status: i < last ? "done" : "stopped" }));
  const end =
    state === RunState.FAILED
      ? { id: "failed", label: "Failed", tone: "bad" as const }
      : state === RunState.CANCELLED
        ? { id: "cancelled", label: "Cancelled", tone: "warn" as const }
        : state === RunState.INTERRUPTED
          ? { id: "interrupted", label: "Interrupted", tone: "warn" as const }
          : { id: "unknown", label: "Unknown state", tone: "warn" as const };
  out.push({ ...end, status: "current" });
  return out;
}

// ---- Addresses ----

export interface Address {
  /** The module identifier's kind, e.g. "topic", "acl_sink_topic", "source"; "" for root resources. */
  kind: string;
  /** The names encoded in the module identifier, e.g. ["warehouse", "orders"]. */
  names: string[];
  type: string;
  /** The instance key, e.g. "Write" in kafka_acl.this["Write"]. */
  instance: string;
  /** Root resources: the resource name, e.g. consumer_ab12. */
  resource: string;
}

function decodeIdent(s: string): string {
  return s.replace(/_([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** parseAddress reads a Terraform address such as module.acl_sink_topic__warehouse__orders.kafka_acl.this["Read"]. */
export function parseAddress(address: string): Address {
  let rest = address;
  let kind = "";
  let names: string[] = [];
  const m = /^module\.([^.[]+)\.(.*)$/.exec(address);
  if (m) {
    const [k, ...ns] = m[1].split("__");
    kind = k;
    names = ns.map(decodeIdent);
    rest = m[2];
  }
  const r = /^([^.]+)\.([^.[]+)(?:\[(.*)\])?$/.exec(rest);
  let instance = r?.[3] ?? "";
  if (instance.startsWith('"') && instance.endsWith('"')) {
    try {
      instance = JSON.parse(instance) as string;
    } catch {
      // keep as written
    }
  }
  return { kind, names, type: r?.[1] ?? "", resource: r?.[2] ?? "", instance };
}

// ---- Grouping ----

export type Concept = "source" | "topics" | "acls" | "sinks" | "masking" | "grants" | "other";

export interface ChangeRow {
  key: string;
  change: ResourceChange;
  /** What the resource is, in words. */
  label: string;
  /** The attributes this row shows (a connector's masking settings go to the masking group). */
  attributes: AttributeChange[];
}

export interface ChangeGroup {
  concept: Concept;
  title: string;
  description: string;
  rows: ChangeRow[];
}

const groupInfo: Record<Concept, { title: string; description: string }> = {
  source: { title: "Source connector", description: "The Debezium connector that captures changes of your tables." },
  topics: { title: "Topics", description: "The Kafka topics of your ports, and the connectors' own topics." },
  acls: { title: "Access control (ACLs)", description: "What the product's own connectors may read and write." },
  sinks: { title: "Sink connectors", description: "The connectors that deliver ports to other systems." },
  masking: { title: "Masking", description: "Connector settings that hash, mask, truncate or drop fields, as the masking policy decides." },
  grants: { title: "Consumer access", description: "ACLs of the consumers granted access to the ports." },
  other: { title: "Other resources", description: "Resources meshplane does not recognize." },
};

const order: Concept[] = ["source", "topics", "acls", "sinks", "masking", "grants", "other"];

/** isMaskingAttribute says whether a connector setting carries masking (Debezium column settings, key columns, sink transforms). */
export function isMaskingAttribute(path: string): boolean {
  return /column\.(include|exclude)\.list|column\.mask\.|column\.truncate\.|message\.key\.columns|transforms/.test(path);
}

function describeResource(a: Address, change: ResourceChange): string {
  const [n1, n2] = a.names;
  const op = a.instance ? a.instance : "";
  const port = (p?: string) => (p ? `port “${p}”` : "a port");
  switch (a.kind) {
    case "source":
      return "Source connector (change data capture)";
    case "sink":
      return `Sink connector “${n1}”`;
    case "topic":
      return `Topic of ${port(n1)}`;
    case "topic_dlq":
      return `Dead-letter topic of sink “${n1}” (records it could not deliver)`;
    case "topic_heartbeat":
      return "Heartbeat topic of the source connector";
    case "topic_schema_history":
      return "Schema history topic of the source connector";
    case "acl_source_topic":
      return `Source connector may ${op || "use"} the topic of ${port(n1)}`;
    case "acl_source_heartbeat":
      return `Source connector may ${op || "use"} its heartbeat topic`;
    case "acl_source_schema_history":
      return `Source connector may ${op || "use"} its schema history topic`;
    case "acl_sink_topic":
      return `Sink “${n1}” may ${op || "use"} the topic of ${port(n2)}`;
    case "acl_sink_dlq":
      return `Sink “${n1}” may ${op || "use"} its dead-letter topic`;
    case "acl_sink_group":
      return `Sink “${n1}” may ${op || "use"} its consumer group`;
  }
  if (change.type === "kafka_acl" && a.resource.startsWith("consumer_")) {
    return op ? `Consumer ACL: ${op}` : "Consumer ACLs";
  }
  return `${change.type || "resource"} ${a.kind ? a.kind + " " : ""}${a.resource}`.trim();
}

function conceptOf(a: Address, change: ResourceChange): Concept {
  if (a.kind === "source") return "source";
  if (a.kind === "sink") return "sinks";
  if (a.kind.startsWith("topic")) return "topics";
  if (a.kind.startsWith("acl_")) return "acls";
  if (change.type === "kafka_acl" && a.resource.startsWith("consumer_")) return "grants";
  if (change.type === "kafka_topic") return "topics";
  if (change.type === "kafka_acl") return "acls";
  if (change.type === "kafka-connect_connector") return "sinks";
  return "other";
}

/** groupChanges sorts a plan's resource changes into the data concepts they concern. */
export function groupChanges(resources: ResourceChange[]): ChangeGroup[] {
  const groups = new Map<Concept, ChangeRow[]>();
  const add = (c: Concept, row: ChangeRow) => {
    const rows = groups.get(c) ?? [];
    rows.push(row);
    groups.set(c, rows);
  };
  for (const change of resources) {
    if (change.action === "no-op" || change.action === "read") continue;
    const a = parseAddress(change.address);
    const concept = conceptOf(a, change);
    const label = describeResource(a, change);
    if (change.type === "kafka-connect_connector" && change.action === "update") {
      const masking = change.attributes.filter((x) => isMaskingAttribute(x.path));
      const rest = change.attributes.filter((x) => !isMaskingAttribute(x.path));
      if (masking.length > 0) add("masking", { key: change.address + "#masking", change, label: `${label}: masking settings`, attributes: masking });
      if (rest.length > 0 || masking.length === 0) add(concept, { key: change.address, change, label, attributes: rest });
      continue;
    }
    add(concept, { key: change.address, change, label, attributes: change.attributes });
  }
  return order
    .filter((c) => groups.has(c))
    .map((c) => ({ concept: c, ...groupInfo[c], rows: groups.get(c)! }));
}

/** maskingSummary reads the plan's note on masking from the run log ("its connectors mask 2 fields"). */
export function maskingSummary(log: string): { policy: string; fields: number } | null {
  const m = /meshplane: policy (\S+) admits the product; its connectors mask (\d+) fields?/.exec(log);
  return m ? { policy: m[1], fields: Number(m[2]) } : null;
}

export function actionTone(action: string): "good" | "info" | "bad" | "warn" | "neutral" {
  switch (action) {
    case "create":
      return "good";
    case "update":
      return "info";
    case "delete":
      return "bad";
    case "replace":
      return "warn";
    default:
      return "neutral";
  }
}

/** showValue renders an attribute's JSON value for people; retentions also in words. */
export function showValue(v: string, path = ""): string {
  if (v === "" || v === "null") return "(none)";
  if (/retention\.ms/.test(path)) {
    const n = Number(v.replace(/"/g, ""));
    if (v !== "(sensitive)" && Number.isFinite(n)) return n < 0 ? `${n} (forever)` : `${n} (${humanMs(n)})`;
  }
  if (v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v;
    }
  }
  return v;
}

function humanMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [u, name] of units) {
    if (ms >= u && ms % u === 0) return `${ms / u} ${name}${ms / u === 1 ? "" : "s"}`;
  }
  return `${ms} ms`;
}

// ---- Log ----

export interface LogState {
  lines: string[];
  /** Lines received on the current connection; the server resends the log so far on each. */
  seen: number;
}

/** startConnection prepares for a (re)connection: the server first resends the whole log. */
export function startConnection(s: LogState): LogState {
  return { lines: s.lines, seen: 0 };
}

/** mergeLine adds a streamed line, skipping lines already shown before a reconnection. */
export function mergeLine(s: LogState, line: string): LogState {
  if (s.seen < s.lines.length) {
    if (s.lines[s.seen] === line) return { lines: s.lines, seen: s.seen + 1 };
    // The log differs from what we showed: keep what matched and take the rest anew.
    return { lines: [...s.lines.slice(0, s.seen), line], seen: s.seen + 1 };
  }
  return { lines: [...s.lines, line], seen: s.seen + 1 };
}

/** backoff is the delay before reconnection attempt n (1-based): 1 s, 2 s, 4 s … at most 30 s. */
export function backoff(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
