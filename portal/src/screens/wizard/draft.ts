// The wizard's draft: what a person is typing, kept as plain JSON so it can
// be stored between reloads, and its mapping to and from the API's product
// spec. Nothing in a draft is a secret: the source and sinks hold references
// (env:NAME, file:/path:key, vault:path:key) to where secrets live.
import { create } from "@bufbuild/protobuf";
import {
  BigQuerySinkSchema,
  Classification,
  CleanupPolicy,
  DataProductSpecSchema,
  ElasticsearchSinkSchema,
  FieldType,
  JdbcSinkSchema,
  S3SinkSchema,
  SourceKind,
  type DataProduct,
  type DataProductSpec,
  type Sink,
} from "../../gen/meshplane/v1/catalog_pb";

export type ClassName = "" | "none" | "internal" | "pii" | "sensitive";
export type TypeName =
  | ""
  | "string"
  | "int32"
  | "int64"
  | "float"
  | "double"
  | "boolean"
  | "bytes"
  | "decimal"
  | "date"
  | "timestamp"
  | "json";
export type SinkKind = "bigquery" | "s3" | "jdbc" | "elasticsearch";
export type RetentionUnit = "minutes" | "hours" | "days" | "forever";
export type CleanupName = "delete" | "compact" | "compact,delete";

export interface FieldDraft {
  /** A stable key for React lists and focus; never sent. */
  uid: string;
  name: string;
  type: TypeName;
  nullable: boolean;
  description: string;
  classification: ClassName;
  /** Tags as typed: separated by commas or spaces. */
  tags: string;
  key: boolean;
}

export interface PortDraft {
  uid: string;
  name: string;
  description: string;
  /** Kept from the stored product; the topic name ends in .v<major>. */
  majorVersion: number;
  partitions: string;
  retentionValue: string;
  retentionUnit: RetentionUnit;
  cleanupPolicy: CleanupName;
  table: string;
  fields: FieldDraft[];
}

export interface SinkDraft {
  uid: string;
  name: string;
  kind: SinkKind;
  /** True delivers every port, including ports added later. */
  allPorts: boolean;
  ports: string[];
  bigquery: { project: string; dataset: string; credentialsRef: string };
  s3: { bucket: string; region: string; prefix: string; format: string; flushSize: string; rotateSeconds: string; credentialsRef: string };
  jdbc: { url: string; username: string; secretRef: string; insertMode: string; primaryKeyFields: string; deleteEnabled: boolean };
  elasticsearch: { url: string; username: string; secretRef: string; indexPrefix: string };
}

export interface Draft {
  domain: string;
  name: string;
  description: string;
  owner: string;
  labels: { uid: string; key: string; value: string }[];
  source: {
    kind: "postgres" | "mysql";
    host: string;
    port: string;
    database: string;
    username: string;
    secretRef: string;
  };
  tables: string[];
  ports: PortDraft[];
  sinks: SinkDraft[];
  /** The stored product's version this draft edits (as a decimal string); "" for a new product. */
  version: string;
}

let seq = 0;
/** uid returns a key unique within this page load. */
export function uid(prefix = "k"): string {
  seq += 1;
  return `${prefix}${Date.now().toString(36)}${seq}`;
}

export const classNames: { value: ClassName; label: string; help: string }[] = [
  { value: "", label: "Not classified", help: "Not decided yet. The admission policy refuses unclassified fields." },
  { value: "none", label: "None (public)", help: "Nothing confidential, for example a product code." },
  { value: "internal", label: "Internal", help: "Business data for colleagues only, for example an order total." },
  { value: "pii", label: "PII (personal)", help: "Identifies a person, for example an e-mail address. Hashed by default." },
  { value: "sensitive", label: "Sensitive", help: "Could harm a person if leaked, for example a card number. Dropped by default." },
];

export const typeNames: { value: TypeName; label: string }[] = [
  { value: "string", label: "Text" },
  { value: "int32", label: "Whole number" },
  { value: "int64", label: "Large whole number" },
  { value: "decimal", label: "Exact decimal" },
  { value: "double", label: "Approx. decimal (double)" },
  { value: "float", label: "Approx. decimal (float)" },
  { value: "boolean", label: "Yes/no" },
  { value: "date", label: "Date" },
  { value: "timestamp", label: "Date and time" },
  { value: "json", label: "JSON document" },
  { value: "bytes", label: "Binary" },
];

export const sinkKinds: { value: SinkKind; label: string }[] = [
  { value: "bigquery", label: "Google BigQuery" },
  { value: "s3", label: "Amazon S3" },
  { value: "jdbc", label: "Relational database (JDBC)" },
  { value: "elasticsearch", label: "Elasticsearch" },
];

const classToEnum: Record<ClassName, Classification> = {
  "": Classification.UNSPECIFIED,
  none: Classification.NONE,
  internal: Classification.INTERNAL,
  pii: Classification.PII,
  sensitive: Classification.SENSITIVE,
};
const typeToEnum: Record<TypeName, FieldType> = {
  "": FieldType.UNSPECIFIED,
  string: FieldType.STRING,
  int32: FieldType.INT32,
  int64: FieldType.INT64,
  float: FieldType.FLOAT,
  double: FieldType.DOUBLE,
  boolean: FieldType.BOOLEAN,
  bytes: FieldType.BYTES,
  decimal: FieldType.DECIMAL,
  date: FieldType.DATE,
  timestamp: FieldType.TIMESTAMP,
  json: FieldType.JSON,
};
const cleanupToEnum: Record<CleanupName, CleanupPolicy> = {
  delete: CleanupPolicy.DELETE,
  compact: CleanupPolicy.COMPACT,
  "compact,delete": CleanupPolicy.COMPACT_DELETE,
};

function invert<K extends string, V>(m: Record<K, V>): Map<V, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as V, k as K]));
}
const enumToClass = invert(classToEnum);
const enumToType = invert(typeToEnum);
const enumToCleanup = invert(cleanupToEnum);

export const DAY_MS = 86_400_000;
const unitMs: Record<Exclude<RetentionUnit, "forever">, number> = { minutes: 60_000, hours: 3_600_000, days: DAY_MS };

/** retentionToMs turns the retention inputs into retentionMs: -1 keeps forever, 0 asks for the default (7 days). */
export function retentionToMs(value: string, unit: RetentionUnit): bigint {
  if (unit === "forever") return -1n;
  const v = value.trim();
  if (v === "") return 0n;
  const n = Number(v);
  // Not a number: send something the server refuses, so its message shows at the field.
  if (!Number.isFinite(n)) return 1n;
  return BigInt(Math.round(n * unitMs[unit]));
}

/** msToRetention picks the largest unit that states retentionMs exactly. */
export function msToRetention(ms: bigint): { value: string; unit: RetentionUnit } {
  if (ms < 0n) return { value: "", unit: "forever" };
  if (ms === 0n) return { value: "7", unit: "days" };
  for (const unit of ["days", "hours", "minutes"] as const) {
    const u = BigInt(unitMs[unit]);
    if (ms % u === 0n) return { value: String(ms / u), unit };
  }
  return { value: String(Number(ms) / unitMs.minutes), unit: "minutes" };
}

/** describeRetention says a retention in words, e.g. "7 days" or "forever". */
export function describeRetention(ms: bigint): string {
  if (ms < 0n) return "forever";
  if (ms === 0n) return "7 days (default)";
  const r = msToRetention(ms);
  const n = Number(r.value);
  const unit = n === 1 ? r.unit.replace(/s$/, "") : r.unit;
  return `${r.value} ${unit}`;
}

/** splitList splits what a person typed as a list: commas, spaces or line breaks. */
export function splitList(s: string): string[] {
  return s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** toInt parses a whole number; blank is 0 (the server's default), anything else unparseable is -1 (refused by the server). */
export function toInt(s: string): number {
  const v = s.trim();
  if (v === "") return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : -1;
}

export function emptyField(): FieldDraft {
  return { uid: uid("f"), name: "", type: "string", nullable: true, description: "", classification: "", tags: "", key: false };
}

export function emptyPort(table = ""): PortDraft {
  return {
    uid: uid("p"),
    name: "",
    description: "",
    majorVersion: 1,
    partitions: "3",
    retentionValue: "7",
    retentionUnit: "days",
    cleanupPolicy: "delete",
    table,
    fields: [emptyField()],
  };
}

export function emptySink(): SinkDraft {
  return {
    uid: uid("s"),
    name: "",
    kind: "bigquery",
    allPorts: true,
    ports: [],
    bigquery: { project: "", dataset: "", credentialsRef: "" },
    s3: { bucket: "", region: "", prefix: "", format: "parquet", flushSize: "1000", rotateSeconds: "600", credentialsRef: "" },
    jdbc: { url: "", username: "", secretRef: "", insertMode: "upsert", primaryKeyFields: "", deleteEnabled: false },
    elasticsearch: { url: "", username: "", secretRef: "", indexPrefix: "" },
  };
}

export function emptyDraft(domain = "", owner = ""): Draft {
  return {
    domain,
    name: "",
    description: "",
    owner,
    labels: [],
    source: { kind: "postgres", host: "", port: "5432", database: "", username: "", secretRef: "" },
    tables: [""],
    ports: [],
    sinks: [],
    version: "",
  };
}

/** topicFor derives a port's Kafka topic the way the server does: <domain>.<product>.<port>.v<major>. */
export function topicFor(domain: string, product: string, port: string, major = 1): string {
  return `${domain || "<domain>"}.${product || "<product>"}.${port || "<port>"}.v${major || 1}`;
}

/** specFromDraft builds the API's product spec. Nothing is dropped or reordered, so the
 * server's field paths (spec.ports[0].fields[2].name) point at the draft's rows. */
export function specFromDraft(d: Draft): DataProductSpec {
  const labels: Record<string, string> = {};
  for (const l of d.labels) {
    if (l.key.trim() === "" && l.value.trim() === "") continue;
    labels[l.key.trim()] = l.value.trim();
  }
  return create(DataProductSpecSchema, {
    description: d.description,
    owner: d.owner.trim(),
    labels,
    source: {
      kind: d.source.kind === "mysql" ? SourceKind.MYSQL : SourceKind.POSTGRES,
      host: d.source.host.trim(),
      port: toInt(d.source.port),
      database: d.source.database.trim(),
      tables: d.tables.map((t) => t.trim()),
      username: d.source.username.trim(),
      secretRef: d.source.secretRef.trim(),
    },
    ports: d.ports.map((p) => ({
      name: p.name.trim(),
      description: p.description,
      majorVersion: p.majorVersion,
      partitions: toInt(p.partitions),
      retentionMs: retentionToMs(p.retentionValue, p.retentionUnit),
      cleanupPolicy: cleanupToEnum[p.cleanupPolicy] ?? CleanupPolicy.UNSPECIFIED,
      table: p.table,
      fields: p.fields.map((f) => ({
        name: f.name.trim(),
        type: typeToEnum[f.type] ?? FieldType.UNSPECIFIED,
        nullable: f.nullable,
        description: f.description,
        classification: classToEnum[f.classification] ?? Classification.UNSPECIFIED,
        tags: splitList(f.tags),
        key: f.key,
      })),
    })),
    sinks: d.sinks.map((s) => ({ name: s.name.trim(), ports: s.allPorts ? [] : [...s.ports], kind: sinkKindOf(s) })),
  });
}

function sinkKindOf(s: SinkDraft): Sink["kind"] {
  switch (s.kind) {
    case "bigquery":
      return {
        case: "bigquery",
        value: create(BigQuerySinkSchema, {
          project: s.bigquery.project.trim(),
          dataset: s.bigquery.dataset.trim(),
          credentialsRef: s.bigquery.credentialsRef.trim(),
        }),
      };
    case "s3": {
      const secs = toInt(s.s3.rotateSeconds);
      return {
        case: "s3",
        value: create(S3SinkSchema, {
          bucket: s.s3.bucket.trim(),
          region: s.s3.region.trim(),
          prefix: s.s3.prefix.trim(),
          format: s.s3.format,
          flushSize: toInt(s.s3.flushSize),
          // Blank asks for the default; a typo is sent as -1 for the server to refuse.
          rotateIntervalMs: secs > 0 ? BigInt(secs) * 1000n : BigInt(secs),
          credentialsRef: s.s3.credentialsRef.trim(),
        }),
      };
    }
    case "jdbc":
      return {
        case: "jdbc",
        value: create(JdbcSinkSchema, {
          url: s.jdbc.url.trim(),
          username: s.jdbc.username.trim(),
          secretRef: s.jdbc.secretRef.trim(),
          insertMode: s.jdbc.insertMode,
          primaryKeyFields: splitList(s.jdbc.primaryKeyFields),
          deleteEnabled: s.jdbc.deleteEnabled,
        }),
      };
    case "elasticsearch":
      return {
        case: "elasticsearch",
        value: create(ElasticsearchSinkSchema, {
          url: s.elasticsearch.url.trim(),
          username: s.elasticsearch.username.trim(),
          secretRef: s.elasticsearch.secretRef.trim(),
          indexPrefix: s.elasticsearch.indexPrefix.trim(),
        }),
      };
  }
}

/** draftFromProduct loads a stored product into the wizard. */
export function draftFromProduct(p: DataProduct): Draft {
  const src = p.source;
  return {
    domain: p.domain,
    name: p.name,
    description: p.description,
    owner: p.owner,
    labels: Object.entries(p.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => ({ uid: uid("l"), key, value })),
    source: {
      kind: src?.kind === SourceKind.MYSQL ? "mysql" : "postgres",
      host: src?.host ?? "",
      port: src?.port ? String(src.port) : "",
      database: src?.database ?? "",
      username: src?.username ?? "",
      secretRef: src?.secretRef ?? "",
    },
    tables: src && src.tables.length > 0 ? [...src.tables] : [""],
    ports: p.ports.map((port) => {
      const r = msToRetention(port.retentionMs);
      return {
        uid: uid("p"),
        name: port.name,
        description: port.description,
        majorVersion: port.majorVersion || 1,
        partitions: port.partitions ? String(port.partitions) : "",
        retentionValue: r.value,
        retentionUnit: r.unit,
        cleanupPolicy: enumToCleanup.get(port.cleanupPolicy) ?? "delete",
        table: port.table,
        fields: port.fields.map((f) => ({
          uid: uid("f"),
          name: f.name,
          type: enumToType.get(f.type) ?? "",
          nullable: f.nullable,
          description: f.description,
          classification: enumToClass.get(f.classification) ?? "",
          tags: f.tags.join(", "),
          key: f.key,
        })),
      };
    }),
    sinks: p.sinks.map((s) => {
      const d = emptySink();
      d.name = s.name;
      d.allPorts = s.ports.length === 0;
      d.ports = [...s.ports];
      switch (s.kind.case) {
        case "bigquery":
          d.kind = "bigquery";
          d.bigquery = { project: s.kind.value.project, dataset: s.kind.value.dataset, credentialsRef: s.kind.value.credentialsRef };
          break;
        case "s3": {
          const v = s.kind.value;
          d.kind = "s3";
          d.s3 = {
            bucket: v.bucket,
            region: v.region,
            prefix: v.prefix,
            format: v.format || "parquet",
            flushSize: v.flushSize ? String(v.flushSize) : "",
            rotateSeconds: v.rotateIntervalMs ? String(Number(v.rotateIntervalMs) / 1000) : "",
            credentialsRef: v.credentialsRef,
          };
          break;
        }
        case "jdbc": {
          const v = s.kind.value;
          d.kind = "jdbc";
          d.jdbc = {
            url: v.url,
            username: v.username,
            secretRef: v.secretRef,
            insertMode: v.insertMode || "upsert",
            primaryKeyFields: v.primaryKeyFields.join(", "),
            deleteEnabled: v.deleteEnabled,
          };
          break;
        }
        case "elasticsearch": {
          const v = s.kind.value;
          d.kind = "elasticsearch";
          d.elasticsearch = { url: v.url, username: v.username, secretRef: v.secretRef, indexPrefix: v.indexPrefix };
          break;
        }
      }
      return d;
    }),
    version: p.version.toString(),
  };
}

// ---- Storage: a draft survives reload, keyed by new or <domain>/<name>. ----

const STORE_PREFIX = "meshplane.wizard.v1:";

export interface StoredDraft {
  draft: Draft;
  savedAt: string;
}

/** storageKey names the draft of a new product ("new") or of an edit ("<domain>/<name>"), per signed-in principal. */
export function storageKey(principal: string, edit?: { domain: string; name: string }): string {
  return `${STORE_PREFIX}${principal}:${edit ? `${edit.domain}/${edit.name}` : "new"}`;
}

export function loadDraft(key: string, store: Storage = window.localStorage): StoredDraft | null {
  try {
    const raw = store.getItem(key);
    if (!raw) return null;
    const v = JSON.parse(raw) as StoredDraft;
    if (!v || typeof v !== "object" || !v.draft || !Array.isArray(v.draft.ports)) return null;
    return v;
  } catch {
    return null;
  }
}

/**
 * storable is the draft as it may be kept in the browser: a secret reference
 * that does not look like one (env:, file:, vault:) may be a password typed
 * in the wrong place, so it is never written to storage.
 */
export function storable(draft: Draft): Draft {
  const ref = (v: string) => (/^(env|file|vault):\S+$/.test(v.trim()) ? v : "");
  return {
    ...draft,
    source: { ...draft.source, secretRef: ref(draft.source.secretRef) },
    sinks: draft.sinks.map((s) => ({
      ...s,
      bigquery: { ...s.bigquery, credentialsRef: ref(s.bigquery.credentialsRef) },
      s3: { ...s.s3, credentialsRef: ref(s.s3.credentialsRef) },
      jdbc: { ...s.jdbc, secretRef: ref(s.jdbc.secretRef) },
      elasticsearch: { ...s.elasticsearch, secretRef: ref(s.elasticsearch.secretRef) },
    })),
  };
}

export function saveDraft(key: string, draft: Draft, store: Storage = window.localStorage): void {
  try {
    store.setItem(key, JSON.stringify({ draft: storable(draft), savedAt: new Date().toISOString() } satisfies StoredDraft));
  } catch {
    // Storage full or disabled: the draft lives on in memory.
  }
}

export function discardDraft(key: string, store: Storage = window.localStorage): void {
  try {
    store.removeItem(key);
  } catch {
    // nothing to do
  }
}
