import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Classification, DataProductSchema, FieldType, SourceKind, CleanupPolicy } from "../gen/meshplane/v1/catalog_pb";
import {
  draftFromProduct,
  emptyDraft,
  emptyField,
  emptyPort,
  emptySink,
  loadDraft,
  msToRetention,
  retentionToMs,
  saveDraft,
  specFromDraft,
  storageKey,
} from "./wizard/draft";
import { countByStep, describePath, isPinned, stepOf, unpinnedFor } from "./wizard/paths";
import { parseFieldList, portNameFor, rangeSelect } from "./wizard/ports";
import { defaultMasking, diffDrafts, maskingLabel } from "./wizard/review";
import { localCheck } from "./wizard/dryrun";
import { isShown, normalizeError } from "./Wizard";

function sampleDraft() {
  const d = emptyDraft("sales", "team-sales@example.com");
  d.name = "orders";
  d.description = "Orders of the web shop";
  d.labels = [{ uid: "l1", key: "tier", value: "gold" }];
  d.source = { kind: "postgres", host: "db.internal", port: "5432", database: "shop", username: "cdc", secretRef: "env:SHOP_DB_PASSWORD" };
  d.tables = ["public.orders"];
  const p = emptyPort("public.orders");
  p.name = "orders";
  p.description = "One event per order";
  p.retentionValue = "30";
  p.fields = [
    { ...emptyField(), name: "order_id", type: "int64", nullable: false, classification: "none", key: true },
    { ...emptyField(), name: "email", type: "string", classification: "pii", tags: "contact, gdpr" },
  ];
  d.ports = [p];
  const s = emptySink();
  s.name = "warehouse";
  s.kind = "s3";
  s.s3 = { ...s.s3, bucket: "acme-exports", region: "eu-west-1", rotateSeconds: "600" };
  d.sinks = [s];
  return d;
}

describe("draft <-> request mapping", () => {
  it("builds the API spec with enums, bigint retention and the chosen sink kind only", () => {
    const spec = specFromDraft(sampleDraft());
    expect(spec.owner).toBe("team-sales@example.com");
    expect(spec.labels).toEqual({ tier: "gold" });
    expect(spec.source?.kind).toBe(SourceKind.POSTGRES);
    expect(spec.source?.port).toBe(5432);
    expect(spec.source?.secretRef).toBe("env:SHOP_DB_PASSWORD");
    const port = spec.ports[0];
    expect(port.retentionMs).toBe(30n * 86_400_000n);
    expect(port.partitions).toBe(3);
    expect(port.cleanupPolicy).toBe(CleanupPolicy.DELETE);
    expect(port.fields[0]).toMatchObject({ name: "order_id", type: FieldType.INT64, classification: Classification.NONE, key: true, nullable: false });
    expect(port.fields[1].tags).toEqual(["contact", "gdpr"]);
    expect(port.fields[1].classification).toBe(Classification.PII);
    expect(spec.sinks[0].ports).toEqual([]);
    expect(spec.sinks[0].kind.case).toBe("s3");
    if (spec.sinks[0].kind.case === "s3") expect(spec.sinks[0].kind.value.rotateIntervalMs).toBe(600_000n);
  });

  it("keeps every row so the server's indexes point at the draft's rows", () => {
    const d = sampleDraft();
    d.tables = ["public.orders", ""];
    d.ports[0].fields.push({ ...emptyField() });
    const spec = specFromDraft(d);
    expect(spec.source?.tables).toEqual(["public.orders", ""]);
    expect(spec.ports[0].fields).toHaveLength(3);
    expect(spec.ports[0].fields[2].classification).toBe(Classification.UNSPECIFIED);
  });

  it("round-trips a stored product", () => {
    const { description, owner, labels, source, ports, sinks } = specFromDraft(sampleDraft());
    const stored = create(DataProductSchema, { domain: "sales", name: "orders", version: 7n, description, owner, labels, source, ports, sinks });
    const back = draftFromProduct(stored);
    expect(back.version).toBe("7");
    expect(back.ports[0].retentionValue).toBe("30");
    expect(back.ports[0].retentionUnit).toBe("days");
    expect(back.sinks[0].s3.rotateSeconds).toBe("600");
    const again = specFromDraft(back);
    const first = specFromDraft(sampleDraft());
    expect(again.ports).toEqual(first.ports);
    expect(again.sinks).toEqual(first.sinks);
    expect(again.source).toEqual(first.source);
    expect(diffDrafts(sampleDraft(), back)).toEqual([]);
  });

  it("converts retention both ways, with forever and the server default", () => {
    expect(retentionToMs("", "days")).toBe(0n);
    expect(retentionToMs("2", "hours")).toBe(7_200_000n);
    expect(retentionToMs("anything", "forever")).toBe(-1n);
    expect(msToRetention(-1n)).toEqual({ value: "", unit: "forever" });
    expect(msToRetention(7_200_000n)).toEqual({ value: "2", unit: "hours" });
    expect(msToRetention(90_000n)).toEqual({ value: "1.5", unit: "minutes" });
  });

  it("stores drafts per principal and product, and ignores garbage", () => {
    const mem = new Map<string, string>();
    const store = {
      getItem: (k: string) => mem.get(k) ?? null,
      setItem: (k: string, v: string) => void mem.set(k, v),
      removeItem: (k: string) => void mem.delete(k),
    } as unknown as Storage;
    const key = storageKey("alice", { domain: "sales", name: "orders" });
    expect(key).toContain("alice:sales/orders");
    expect(storageKey("alice")).toMatch(/alice:new$/);
    saveDraft(key, sampleDraft(), store);
    expect(loadDraft(key, store)?.draft.name).toBe("orders");
    mem.set(key, "{not json");
    expect(loadDraft(key, store)).toBeNull();
  });

  it("never stores what looks like a password typed where a reference belongs", () => {
    const mem = new Map<string, string>();
    const store = {
      getItem: (k: string) => mem.get(k) ?? null,
      setItem: (k: string, v: string) => void mem.set(k, v),
      removeItem: (k: string) => void mem.delete(k),
    } as unknown as Storage;
    const d = sampleDraft();
    d.source.secretRef = "hunter2";
    saveDraft("k", d, store);
    expect(mem.get("k")).not.toContain("hunter2");
    expect(loadDraft("k", store)?.draft.source.secretRef).toBe("");
    d.source.secretRef = "env:SHOP_DB_PASSWORD";
    saveDraft("k", d, store);
    expect(loadDraft("k", store)?.draft.source.secretRef).toBe("env:SHOP_DB_PASSWORD");
  });
});

describe("violation paths", () => {
  it("assigns paths to steps", () => {
    expect(stepOf("name")).toBe("basics");
    expect(stepOf('spec.labels["Tier"]')).toBe("basics");
    expect(stepOf("spec.source.secretRef")).toBe("source");
    expect(stepOf("spec.source.tables[1]")).toBe("tables");
    expect(stepOf("spec.ports[0].fields[2].classification")).toBe("ports");
    expect(stepOf("spec.sinks[1].jdbc.url")).toBe("sinks");
    expect(stepOf("spec")).toBe("review");
  });

  it("knows which paths an input shows, so the rest go to the banner", () => {
    expect(isPinned("spec.ports[0].fields[2].classification")).toBe(true);
    expect(isPinned("spec.ports[0].fields")).toBe(true);
    expect(isPinned("spec.sinks[1]")).toBe(true);
    expect(isPinned("spec.ports")).toBe(false);
    const err = {
      code: "InvalidArgument",
      reason: "POLICY_DENIED",
      message: "refused",
      violations: [
        { field: "spec.ports", message: "port topic clash" },
        { field: "spec.ports[0].description", message: "describe it" },
        { field: "spec.owner", message: "name an owner" },
      ],
    };
    expect(unpinnedFor(err, "ports").map((v) => v.message)).toEqual(["port topic clash"]);
    expect(countByStep(err)).toMatchObject({ ports: 2, basics: 1 });
  });

  it("describes paths in words", () => {
    const names = { ports: ["orders"], fields: [["order_id", "email"]], sinks: ["warehouse"] };
    expect(describePath("spec.ports[0].fields[1].classification", names)).toBe("port “orders”, field “email”, classification");
    expect(describePath("spec.sinks[0].s3.bucket", names)).toBe("sink “warehouse”, s3 › bucket");
    expect(describePath('spec.labels["Tier"]')).toBe("label “Tier”");
  });

  it("marks policy denials and pins a taken name", () => {
    const denied = normalizeError({ code: "InvalidArgument", reason: "POLICY_DENIED", message: "", violations: [{ field: "spec.owner", message: "x" }] });
    expect(denied?.violations[0].message).toBe("Admission policy: x");
    const taken = normalizeError({ code: "AlreadyExists", reason: "ALREADY_EXISTS", message: "exists", violations: [] });
    expect(taken?.violations[0].field).toBe("name");
  });

  it("shows a problem once its input was changed or its step left", () => {
    const v = { field: "spec.ports[0].fields", message: "mark a key" };
    expect(isShown(v, new Set(), new Set())).toBe(false);
    expect(isShown(v, new Set(), new Set(["spec.ports[0].fields[1].key"]))).toBe(true);
    expect(isShown(v, new Set(["ports"]), new Set())).toBe(true);
    expect(isShown({ field: "spec.ports[0].fields[1].tags[0]", message: "" }, new Set(), new Set(["spec.ports[0].fields[1].tags"]))).toBe(true);
    expect(isShown({ field: "spec.ports[0].fieldsX", message: "" }, new Set(), new Set(["spec.ports[0].fields"]))).toBe(false);
  });

  it("checks the basics in the browser with the server's paths", () => {
    const d = sampleDraft();
    expect(localCheck(d)).toBeNull();
    d.source.secretRef = "hunter2";
    d.ports[0].fields[1].classification = "";
    const err = localCheck(d);
    expect(err?.violations.map((v) => v.field)).toEqual(["spec.source.secretRef", "spec.ports[0].fields[1].classification"]);
  });
});

describe("fields grid helpers", () => {
  it("selects ranges with shift", () => {
    const uids = ["a", "b", "c", "d"];
    let sel = rangeSelect(uids, new Set(), null, 0, false);
    sel = rangeSelect(uids, sel, 0, 2, true);
    expect([...sel].sort()).toEqual(["a", "b", "c"]);
    sel = rangeSelect(uids, sel, 2, 1, false);
    expect([...sel].sort()).toEqual(["a", "c"]);
  });

  it("reads pasted field lists", () => {
    const fs = parseFieldList("order_id bigint none key not null\nemail varchar(255) pii\n\ncreated_at timestamptz");
    expect(fs.map((f) => [f.name, f.type, f.classification, f.key, f.nullable])).toEqual([
      ["order_id", "int64", "none", true, false],
      ["email", "string", "pii", false, true],
      ["created_at", "timestamp", "", false, true],
    ]);
  });

  it("suggests port names from tables", () => {
    expect(portNameFor("public.order_items")).toBe("order-items");
    expect(portNameFor("shop.X")).toBe("x-port");
    expect(portNameFor("public.2fa")).toBe("t-2fa");
  });

  it("says what masking does", () => {
    expect(maskingLabel(defaultMasking("pii")).text).toBe("hashed (salted SHA-256)");
    expect(maskingLabel(defaultMasking("sensitive")).text).toBe("dropped (never published)");
    expect(maskingLabel({ action: "truncate", algorithm: "", chars: 0, length: 4 }).text).toBe("truncated to 4 characters");
  });

  it("lists what an edit changes", () => {
    const before = sampleDraft();
    const after = structuredClone(before);
    after.ports[0].retentionValue = "3";
    after.ports[0].fields[1].classification = "sensitive";
    const d = diffDrafts(before, after);
    expect(d).toContainEqual({ path: "spec.ports[0].retentionMs", before: "30 days", after: "3 days" });
    expect(d).toContainEqual({ path: "spec.ports[0].fields[1].classification", before: "pii", after: "sensitive" });
    expect(d).toHaveLength(2);
  });
});
