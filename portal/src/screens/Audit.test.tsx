import { describe, expect, it } from "vitest";
import { diffJSON, filtersFrom, flatten, keep } from "./governance/auditDiff";

describe("audit before/after", () => {
  it("flattens nested JSON to leaf paths; scalar arrays stay whole", () => {
    const m = flatten({ name: "orders", labels: { tier: "gold" }, tables: ["a", "b"], ports: [{ name: "p", fields: [{ n: 1 }] }], empty: {} });
    expect(Object.fromEntries(m)).toEqual({
      name: "orders",
      "labels.tier": "gold",
      tables: '["a","b"]',
      "ports[0].name": "p",
      "ports[0].fields[0].n": "1",
      empty: "{}",
    });
  });

  it("lists added, removed and changed fields", () => {
    const d = diffJSON('{"version":1,"text":"a","gone":true,"same":"x"}', '{"version":2,"text":"a\\nb","new":null,"same":"x"}');
    expect(d.map((x) => [x.path, x.change])).toEqual([
      ["gone", "removed"],
      ["new", "added"],
      ["same", "same"],
      ["text", "changed"],
      ["version", "changed"],
    ]);
    expect(d.find((x) => x.path === "text")).toMatchObject({ before: "a", after: "a\nb" });
  });

  it("treats an empty side as created or deleted", () => {
    expect(diffJSON("", '{"a":1}')).toEqual([{ path: "a", before: undefined, after: "1", change: "added" }]);
    expect(diffJSON('{"a":1}', "")).toEqual([{ path: "a", before: "1", after: undefined, change: "removed" }]);
  });
});

describe("audit filters", () => {
  it("reads every filter from the URL query", () => {
    const f = filtersFrom(new URLSearchParams("actor=gina&type=policy&action=Publish"));
    expect(f).toEqual({ actor: "gina", domain: "", type: "policy", resource: "", action: "Publish", since: "", until: "" });
  });

  it("matches action text anywhere, case-insensitively, and the time window", () => {
    const e = { action: "policy.Publish", time: new Date("2026-03-01T12:00:00") };
    expect(keep(e, { action: "publish", since: "", until: "" })).toBe(true);
    expect(keep(e, { action: "rollback", since: "", until: "" })).toBe(false);
    expect(keep(e, { action: "", since: "2026-03-01T11:00", until: "2026-03-01T13:00" })).toBe(true);
    expect(keep(e, { action: "", since: "2026-03-01T12:30", until: "" })).toBe(false);
    expect(keep(e, { action: "", since: "", until: "2026-03-01T11:59" })).toBe(false);
    expect(keep(e, { action: "", since: "not a date", until: "" })).toBe(true);
  });
});
