// The catalog's filters live in the URL query, so a reload, the back button
// and a shared link all show the same results. These helpers turn the query
// into a ListDataProducts request, and the response's facets into counts.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Classification,
  DataProductHealth,
  DataProductOrderField,
  Lifecycle,
  type DataProductFacets,
  type ListDataProductsRequestSchema,
} from "../../gen/meshplane/v1/catalog_pb";
import { lifecycleFromWord, lifecycleWords } from "./model";

export const PAGE_SIZE = 25;

/** Filters are the catalog's URL query parameters. */
export interface Filters {
  /** q is the search text. */
  q: string;
  domain: string;
  /** lifecycle is draft, active, deprecated or retired. */
  lifecycle: string;
  /** labels is "key=value" pairs separated by commas or spaces. */
  labels: string;
  /** health is not-provisioned, in-sync or drifted. */
  health: string;
  /** classification is pii, sensitive, internal or none. */
  classification: string;
  /** sort is name (default), updated or created. */
  sort: string;
  /** page is the page token of the page shown; empty for the first. */
  page: string;
}

/** The keys that narrow the results (sort and page do not). */
export const filterKeys = ["q", "domain", "lifecycle", "labels", "health", "classification"] as const;

export function filtersFromQuery(query: URLSearchParams): Filters {
  return {
    q: query.get("q")?.trim() ?? "",
    domain: query.get("domain") ?? "",
    lifecycle: query.get("lifecycle") ?? "",
    labels: query.get("labels")?.trim() ?? "",
    health: query.get("health") ?? "",
    classification: query.get("classification") ?? "",
    sort: query.get("sort") ?? "",
    page: query.get("page") ?? "",
  };
}

/** isFiltered reports whether any filter narrows the results. */
export function isFiltered(f: Filters): boolean {
  return filterKeys.some((k) => f[k] !== "");
}

/**
 * queryChange is the setQuery argument that changes one filter: any change
 * of filter or sort starts again from the first page.
 */
export function queryChange(key: keyof Filters, value: string): Record<string, string | undefined> {
  if (key === "page") return { page: value || undefined };
  return { [key]: value || undefined, page: undefined };
}

/** clearAll is the setQuery argument that removes every filter (keeping the sort). */
export function clearAll(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { page: undefined };
  for (const k of filterKeys) out[k] = undefined;
  return out;
}

export const sortOptions: { value: string; label: string }[] = [
  { value: "", label: "Name (A to Z)" },
  { value: "updated", label: "Recently changed first" },
  { value: "created", label: "Newest first" },
];

/** The health filter's options: URL word, enum and what people read. */
export const healthOptions: { value: string; health: DataProductHealth; label: string }[] = [
  { value: "in-sync", health: DataProductHealth.IN_SYNC, label: "in sync" },
  { value: "drifted", health: DataProductHealth.DRIFTED, label: "drift found" },
  { value: "not-provisioned", health: DataProductHealth.NOT_PROVISIONED, label: "not provisioned" },
];

/** The classification filter's options: URL word, enum and what people read. */
export const classOptions: { value: string; classification: Classification; label: string }[] = [
  { value: "pii", classification: Classification.PII, label: "PII — personal data" },
  { value: "sensitive", classification: Classification.SENSITIVE, label: "sensitive" },
  { value: "internal", classification: Classification.INTERNAL, label: "internal" },
  { value: "none", classification: Classification.NONE, label: "none — public" },
];

export const lifecycleOptions = [Lifecycle.DRAFT, Lifecycle.ACTIVE, Lifecycle.DEPRECATED, Lifecycle.RETIRED];

/** listRequest is the ListDataProducts request for the filters, asking for facet counts. */
export function listRequest(f: Filters, pageSize = PAGE_SIZE): MessageInitShape<typeof ListDataProductsRequestSchema> {
  const req: MessageInitShape<typeof ListDataProductsRequestSchema> = {
    domain: f.domain,
    lifecycle: lifecycleFromWord(f.lifecycle),
    text: f.q,
    labels: parseLabels(f.labels).labels,
    health: healthOptions.find((o) => o.value === f.health)?.health ?? DataProductHealth.UNSPECIFIED,
    classification: classOptions.find((o) => o.value === f.classification)?.classification ?? Classification.UNSPECIFIED,
    includeFacets: true,
    pageSize,
    pageToken: f.page,
  };
  switch (f.sort) {
    case "updated":
      return { ...req, orderBy: DataProductOrderField.UPDATE_TIME, descending: true };
    case "created":
      return { ...req, orderBy: DataProductOrderField.CREATE_TIME, descending: true };
    default:
      return { ...req, orderBy: DataProductOrderField.NAME };
  }
}

/** Counts of one facet's options, keyed by the option's URL word. */
export type FacetCounts = Map<string, number>;

/**
 * facetCounts reads the response's facets as counts per option. The server
 * counts what the whole filter matches, so a facet that is itself filtered
 * only has a meaningful count for its chosen option; its other options get
 * none (rather than a misleading 0).
 */
export function facetCounts(facets: DataProductFacets | undefined, f: Filters): {
  domain: FacetCounts | null;
  lifecycle: FacetCounts | null;
  health: FacetCounts | null;
  classification: FacetCounts | null;
} {
  if (!facets) return { domain: null, lifecycle: null, health: null, classification: null };
  const only = (m: FacetCounts, chosen: string): FacetCounts => (chosen ? new Map([...m].filter(([k]) => k === chosen)) : m);
  const domain: FacetCounts = new Map(facets.domains.map((d) => [d.domain, d.count]));
  const lifecycle: FacetCounts = new Map(facets.lifecycles.map((l) => [lifecycleWords[l.lifecycle], l.count]));
  const health: FacetCounts = new Map();
  for (const h of facets.health) {
    const o = healthOptions.find((x) => x.health === h.health);
    if (o) health.set(o.value, h.count);
  }
  const classification: FacetCounts = new Map();
  for (const c of facets.classifications) {
    const o = classOptions.find((x) => x.classification === c.classification);
    if (o) classification.set(o.value, c.count);
  }
  return {
    domain: only(domain, f.domain),
    lifecycle: only(lifecycle, f.lifecycle),
    health: only(health, f.health),
    classification: only(classification, f.classification),
  };
}

/**
 * optionLabel adds a facet count to an option's text: "sales (12)". With
 * counts known for the whole facet, an option they do not list matched none.
 */
export function optionLabel(label: string, value: string, counts: FacetCounts | null, wholeFacet: boolean): string {
  if (!counts) return label;
  const n = counts.get(value);
  if (n !== undefined) return `${label} (${n})`;
  return wholeFacet ? `${label} (0)` : label;
}

/** describeFilters says in words what the results are narrowed to. */
export function describeFilters(f: Filters): string {
  const parts: string[] = [];
  if (f.q) parts.push(`matching “${f.q}”`);
  if (f.domain) parts.push(`in domain ${f.domain}`);
  if (f.lifecycle) parts.push(`${f.lifecycle}`);
  const labels = Object.entries(parseLabels(f.labels).labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length) parts.push(`labelled ${labels.join(", ")}`);
  const h = healthOptions.find((o) => o.value === f.health);
  if (h) parts.push(h.value === "drifted" ? "where drift was found" : h.label);
  const c = classOptions.find((o) => o.value === f.classification);
  if (c) parts.push(`with ${c.value === "pii" ? "PII" : c.value} fields`);
  return parts.join(", ");
}

/**
 * parseLabels reads "tier=gold, team=web" into a label map; problems name
 * the pairs that are not written key=value.
 */
export function parseLabels(text: string): { labels: Record<string, string>; problems: string[] } {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      problems.push(`“${pair}” is not written key=value, for example tier=gold`);
      continue;
    }
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { labels, problems };
}
