// What the catalog and the product page say about a product: its lifecycle,
// its health (provisioned? drifted?) and the kinds of data its ports hold.
// Pure helpers, shared by both screens and unit-tested.
import { Classification, DataProductHealth, Lifecycle, type DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { Badge, type Tone } from "../../lib/ui";

export const lifecycleWords: Record<Lifecycle, string> = {
  [Lifecycle.UNSPECIFIED]: "unknown",
  [Lifecycle.DRAFT]: "draft",
  [Lifecycle.ACTIVE]: "active",
  [Lifecycle.DEPRECATED]: "deprecated",
  [Lifecycle.RETIRED]: "retired",
};

const lifecycleHelp: Record<Lifecycle, string> = {
  [Lifecycle.UNSPECIFIED]: "The lifecycle is not known.",
  [Lifecycle.DRAFT]: "Draft: being prepared; consumers should not rely on it yet.",
  [Lifecycle.ACTIVE]: "Active: published and supported by its owners.",
  [Lifecycle.DEPRECATED]: "Deprecated: still available, but consumers should move away.",
  [Lifecycle.RETIRED]: "Retired: read-only, its infrastructure is gone.",
};

const lifecycleTones: Record<Lifecycle, Tone> = {
  [Lifecycle.UNSPECIFIED]: "neutral",
  [Lifecycle.DRAFT]: "info",
  [Lifecycle.ACTIVE]: "good",
  [Lifecycle.DEPRECATED]: "warn",
  [Lifecycle.RETIRED]: "neutral",
};

/** lifecycleFromWord parses the lifecycle kept in a URL ("active"). */
export function lifecycleFromWord(w: string): Lifecycle {
  const hit = (Object.entries(lifecycleWords) as [string, string][]).find(([, word]) => word === w);
  return hit && w !== "unknown" ? (Number(hit[0]) as Lifecycle) : Lifecycle.UNSPECIFIED;
}

export function LifecycleBadge({ lifecycle }: { lifecycle: Lifecycle }) {
  return (
    <Badge tone={lifecycleTones[lifecycle]} title={lifecycleHelp[lifecycle]}>
      {lifecycleWords[lifecycle]}
    </Badge>
  );
}

export function lifecycleExplanation(l: Lifecycle): string {
  return lifecycleHelp[l];
}

/** Health is what the catalog says about a product's infrastructure. */
export type Health = "never" | "decommissioned" | "drift" | "in-sync";

export const healthWords: Record<Health, string> = {
  never: "never provisioned",
  decommissioned: "decommissioned",
  drift: "drift found",
  "in-sync": "in sync",
};

type HealthInput = Pick<DataProduct, "provisionedVersion" | "drift" | "health" | "lifecycle">;

/**
 * health is the product's health as the server sums it up, told apart for
 * people: not provisioned is "never provisioned", or "decommissioned" once
 * retired. Without the server's summary it is derived the same way.
 */
export function health(p: HealthInput): Health {
  switch (p.health) {
    case DataProductHealth.NOT_PROVISIONED:
      return p.lifecycle === Lifecycle.RETIRED ? "decommissioned" : "never";
    case DataProductHealth.DRIFTED:
      return "drift";
    case DataProductHealth.IN_SYNC:
      return "in-sync";
  }
  if (p.lifecycle === Lifecycle.RETIRED) return "decommissioned";
  if (!p.provisionedVersion) return "never";
  if (p.drift.length > 0) return "drift";
  return "in-sync";
}

/** healthDetail says in a sentence what the health badge means for this product. */
export function healthDetail(p: HealthInput & Pick<DataProduct, "version" | "driftCheckTime">): string {
  switch (health(p)) {
    case "never":
      return "Nothing has been created in Kafka yet: plan and approve the product to provision it.";
    case "decommissioned":
      return "Its topics, ACLs and connectors were destroyed when it was decommissioned.";
    case "drift": {
      const n = p.drift.length;
      return n
        ? `${n} resource${n === 1 ? " was" : "s were"} changed outside meshplane since the last apply.`
        : "The last drift check found changes made outside meshplane.";
    }
    default: {
      const base = p.driftCheckTime ? "The last drift check found nothing changed outside meshplane." : "Provisioned; not checked for drift yet.";
      return p.version > p.provisionedVersion
        ? `${base} Version ${p.version} has changes that are not provisioned yet (version ${p.provisionedVersion} is).`
        : base;
    }
  }
}

const healthTones: Record<Health, Tone> = { never: "neutral", decommissioned: "neutral", drift: "bad", "in-sync": "good" };

export function HealthBadge({ product }: { product: HealthInput & Pick<DataProduct, "version" | "driftCheckTime"> }) {
  const h = health(product);
  return (
    <Badge tone={healthTones[h]} title={healthDetail(product)}>
      {healthWords[h]}
    </Badge>
  );
}

/** pendingChanges reports whether the product changed since it was last provisioned. */
export function pendingChanges(p: Pick<DataProduct, "provisionedVersion" | "version" | "lifecycle">): boolean {
  return p.lifecycle !== Lifecycle.RETIRED && p.provisionedVersion > 0n && p.version > p.provisionedVersion;
}

export const classWords: Record<Classification, string> = {
  [Classification.UNSPECIFIED]: "unclassified",
  [Classification.NONE]: "none",
  [Classification.INTERNAL]: "internal",
  [Classification.PII]: "PII",
  [Classification.SENSITIVE]: "sensitive",
};

const classHelp: Record<Classification, string> = {
  [Classification.UNSPECIFIED]: "Unclassified: nobody said what this field holds, so it is treated as sensitive.",
  [Classification.NONE]: "Not classified as confidential: anyone with access sees it.",
  [Classification.INTERNAL]: "Internal: for use inside the company; shown to anyone with access.",
  [Classification.PII]: "Personal data (PII): hashed unless the reader may see personal data.",
  [Classification.SENSITIVE]: "Sensitive: removed before it reaches Kafka.",
};

const classTones: Record<Classification, Tone> = {
  [Classification.UNSPECIFIED]: "warn",
  [Classification.NONE]: "neutral",
  [Classification.INTERNAL]: "info",
  [Classification.PII]: "pii",
  [Classification.SENSITIVE]: "sensitive",
};

export function ClassBadge({ c }: { c: Classification }) {
  return (
    <Badge tone={classTones[c]} title={classHelp[c]}>
      {classWords[c]}
    </Badge>
  );
}

export function classExplanation(c: Classification): string {
  return classHelp[c];
}

/** classificationsOf lists the classifications a product's ports hold, strictest first. */
export function classificationsOf(p: Pick<DataProduct, "ports">): Classification[] {
  const seen = new Set<Classification>();
  for (const port of p.ports) for (const f of port.fields) seen.add(f.classification);
  const order = [Classification.SENSITIVE, Classification.PII, Classification.UNSPECIFIED, Classification.INTERNAL, Classification.NONE];
  return order.filter((c) => seen.has(c));
}

/** hasPII reports whether any port of the product has a PII field. */
export function hasPII(p: Pick<DataProduct, "ports">): boolean {
  return p.ports.some((port) => port.fields.some((f) => f.classification === Classification.PII));
}

/** productPath is the product page's URL, optionally on a tab. */
export function productPath(domain: string, name: string, tab?: string): string {
  const base = `/products/${encodeURIComponent(domain)}/${encodeURIComponent(name)}`;
  return tab ? `${base}/${tab}` : base;
}
