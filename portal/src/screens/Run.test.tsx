import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ResourceChangeSchema, RunState } from "../gen/meshplane/v1/provisioning_pb";
import {
  backoff,
  groupChanges,
  isMaskingAttribute,
  maskingSummary,
  mergeLine,
  parseAddress,
  phases,
  showValue,
  startConnection,
  type LogState,
} from "./run/model";
import { logLines } from "./run/useRunWatch";
import { rank, stalePolicy } from "./Run";

const rc = (address: string, type: string, action: string, attributes: { path: string; before: string; after: string }[] = [], reason = "") =>
  create(ResourceChangeSchema, { address, type, action, attributes, reason });

describe("run phases", () => {
  const none = { approved: false, planned: false, started: false };
  it("walks the happy path", () => {
    expect(phases(RunState.PLANNING, none).map((p) => p.status)).toEqual(["done", "current", "upcoming", "upcoming", "upcoming"]);
    const applied = phases(RunState.APPLIED, none);
    expect(applied.at(-1)).toMatchObject({ id: "applied", status: "current", tone: "good" });
    expect(applied.slice(0, 4).every((p) => p.status === "done")).toBe(true);
  });

  it("shows how far a stopped run got, then how it ended", () => {
    const failed = phases(RunState.FAILED, { approved: true, planned: true, started: true });
    expect(failed.map((p) => `${p.id}:${p.status}`)).toEqual([
      "queued:done",
      "planning:done",
      "planned:done",
      "applying:stopped",
      "failed:current",
    ]);
    const cancelled = phases(RunState.CANCELLED, { approved: false, planned: true, started: true });
    expect(cancelled.map((p) => p.id)).toEqual(["queued", "planning", "planned", "cancelled"]);
    expect(phases(RunState.INTERRUPTED, { ...none, started: true }).map((p) => p.id)).toEqual(["queued", "planning", "interrupted"]);
  });

  it("ranks finished states after every running one", () => {
    expect(rank(RunState.APPLIED)).toBeGreaterThan(rank(RunState.APPLYING));
    expect(rank(RunState.CANCELLED)).toBeGreaterThan(rank(RunState.PLANNED));
  });
});

describe("plan changes by data concept", () => {
  it("parses terraform addresses of meshplane's modules", () => {
    expect(parseAddress('module.acl_sink_topic__warehouse__orders.kafka_acl.this["Read"]')).toEqual({
      kind: "acl_sink_topic",
      names: ["warehouse", "orders"],
      type: "kafka_acl",
      resource: "this",
      instance: "Read",
    });
    expect(parseAddress("module.topic__a_2eb.kafka_topic.this").names).toEqual(["a.b"]);
    expect(parseAddress('kafka_acl.consumer_ab12["User:x|Read"]')).toMatchObject({ kind: "", resource: "consumer_ab12", instance: "User:x|Read" });
  });

  it("groups resources and splits a connector's masking settings out", () => {
    const groups = groupChanges([
      rc('module.acl_source_topic__orders.kafka_acl.this["Write"]', "kafka_acl", "create"),
      rc("module.sink__warehouse.kafka-connect_connector.this", "kafka-connect_connector", "create"),
      rc("module.source.kafka-connect_connector.this", "kafka-connect_connector", "update", [
        { path: 'config["column.include.list"]', before: '"a,b"', after: '"a"' },
        { path: 'config["snapshot.mode"]', before: '"initial"', after: '"never"' },
      ]),
      rc("module.topic__orders.kafka_topic.this", "kafka_topic", "update", [{ path: 'config["retention.ms"]', before: '"604800000"', after: '"86400000"' }], "lowers retention"),
      rc('kafka_acl.consumer_ab12["User:x|Read"]', "kafka_acl", "create"),
      rc("module.topic_dlq__warehouse.kafka_topic.this", "kafka_topic", "create"),
    ]);
    expect(groups.map((g) => [g.concept, g.rows.length])).toEqual([
      ["source", 1],
      ["topics", 2],
      ["acls", 1],
      ["sinks", 1],
      ["masking", 1],
      ["grants", 1],
    ]);
    const source = groups.find((g) => g.concept === "source")!.rows[0];
    expect(source.attributes.map((a) => a.path)).toEqual(['config["snapshot.mode"]']);
    const masking = groups.find((g) => g.concept === "masking")!.rows[0];
    expect(masking.attributes.map((a) => a.path)).toEqual(['config["column.include.list"]']);
    expect(groups.find((g) => g.concept === "acls")!.rows[0].label).toBe("Source connector may Write the topic of port “orders”");
    expect(groups.find((g) => g.concept === "topics")!.rows.map((r) => r.label)).toContain(
      "Dead-letter topic of sink “warehouse” (records it could not deliver)",
    );
  });

  it("recognizes masking settings", () => {
    expect(isMaskingAttribute('config["column.mask.hash.v2.SHA-256.with.salt.abc"]')).toBe(true);
    expect(isMaskingAttribute('config["transforms.mask.fields"]')).toBe(true);
    expect(isMaskingAttribute('config["tasks.max"]')).toBe(false);
  });

  it("shows values for people", () => {
    expect(showValue('"abc"')).toBe("abc");
    expect(showValue("")).toBe("(none)");
    expect(showValue('"86400000"', 'config["retention.ms"]')).toBe("86400000 (1 day)");
    expect(showValue("(sensitive)", 'config["retention.ms"]')).toBe("(sensitive)");
  });

  it("reads the plan's masking note", () => {
    expect(maskingSummary("x\nmeshplane: policy access@1,admission@1,masking@2 admits the product; its connectors mask 1 fields\n")).toEqual({
      policy: "access@1,admission@1,masking@2",
      fields: 1,
    });
  });

  it("finds policy modules that moved on", () => {
    const now = [
      { name: "admission", publishedVersion: 1 },
      { name: "masking", publishedVersion: 3 },
    ];
    expect(stalePolicy("admission@1,masking@2", now)).toEqual(["masking is at version 3, the plan used 2"]);
    expect(stalePolicy("admission@1,masking@3", now)).toEqual([]);
  });
});

describe("live log", () => {
  it("skips lines a reconnection replays and keeps new ones", () => {
    let s: LogState = { lines: [], seen: 0 };
    for (const l of ["a", "b"]) s = mergeLine(s, l);
    s = startConnection(s);
    for (const l of ["a", "b", "c"]) s = mergeLine(s, l);
    expect(s.lines).toEqual(["a", "b", "c"]);
  });

  it("starts over from where a replay differs", () => {
    let s: LogState = { lines: ["a", "", "b"], seen: 0 };
    for (const l of ["a", "b"]) s = mergeLine(s, l);
    expect(s.lines).toEqual(["a", "b"]);
  });

  it("splits the stored log as the server replays it", () => {
    expect(logLines("a\n\nb\n")).toEqual(["a", "b"]);
  });

  it("backs off up to 30 seconds", () => {
    expect([1, 2, 3, 10].map(backoff)).toEqual([1000, 2000, 4000, 30000]);
  });
});
