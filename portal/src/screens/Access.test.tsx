import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Classification, OutputPortSchema } from "../gen/meshplane/v1/catalog_pb";
import { GrantState } from "../gen/meshplane/v1/access_pb";
import {
  daysToSeconds,
  defaultGroupPrefix,
  exactViolations,
  holdsPersonalData,
  kafkaClientProperties,
  parseRequestParam,
  personalFields,
  revocable,
  unpinned,
} from "./access/format";
import { approverLabel, days } from "./governance/describe";
import type { ApiError } from "../lib/api";

describe("the request link from a product page", () => {
  it("prefills domain and product, and the port when given", () => {
    expect(parseRequestParam("sales/orders")).toEqual({ domain: "sales", product: "orders", port: "" });
    expect(parseRequestParam("sales/orders/customers")).toEqual({ domain: "sales", product: "orders", port: "customers" });
  });
  it("ignores what is not a product reference", () => {
    expect(parseRequestParam(null)).toBeNull();
    expect(parseRequestParam("sales")).toBeNull();
    expect(parseRequestParam("/orders")).toBeNull();
    expect(parseRequestParam("a/b/c/d")).toBeNull();
  });
});

describe("request defaults", () => {
  it("turns days into seconds; empty asks for the policy maximum", () => {
    expect(daysToSeconds("")).toBe(0n);
    expect(daysToSeconds("14")).toBe(14n * 86400n);
    expect(daysToSeconds("0.5")).toBe(43200n);
    expect(daysToSeconds("-1")).toBeNull();
    expect(daysToSeconds("soon")).toBeNull();
  });
  it("derives the default consumer group prefix like the server", () => {
    expect(defaultGroupPrefix("marketing", "reporter")).toBe("marketing.reporter.");
    expect(defaultGroupPrefix("", "reporter")).toBe("");
  });
  it("says who must approve in words, and durations in days", () => {
    expect(approverLabel("domain-owner:sales")).toBe("an owner of sales");
    expect(approverLabel("governance-officer")).toBe("a governance officer");
    expect(days(2592000n)).toBe("30 days");
    expect(days(86400)).toBe("1 day");
    expect(days(3600)).toBe("1 hour");
  });
});

describe("personal data", () => {
  const port = (...cls: Classification[]) =>
    create(OutputPortSchema, { name: "p", fields: cls.map((c, i) => ({ name: `f${i}`, classification: c })) });
  it("counts pii, sensitive and unclassified fields as personal data, like the default access policy", () => {
    expect(holdsPersonalData(port(Classification.NONE, Classification.INTERNAL))).toBe(false);
    expect(holdsPersonalData(port(Classification.NONE, Classification.PII))).toBe(true);
    expect(holdsPersonalData(port(Classification.SENSITIVE))).toBe(true);
    expect(holdsPersonalData(port(Classification.UNSPECIFIED))).toBe(true);
    expect(personalFields(port(Classification.PII, Classification.NONE, Classification.PII))).toEqual({ pii: ["f0", "f2"], sensitive: [], unclassified: [] });
  });
});

describe("server errors on the form", () => {
  const e: ApiError = {
    code: "InvalidArgument",
    reason: "",
    message: "invalid request",
    violations: [
      { field: "groupPrefix", message: "must start with marketing.reporter." },
      { field: "ports[0].port", message: 'no port "nope"' },
      { field: "ports[1]", message: "repeats ports[0]" },
      { field: "somethingNew", message: "??" },
    ],
  };
  it("separates a row's own violation from its fields'", () => {
    expect(exactViolations(e, "ports[1]")).toEqual(["repeats ports[0]"]);
    expect(exactViolations(e, "ports[0]")).toEqual([]);
  });
  it("leaves for the banner only what no field shows", () => {
    const rest = unpinned(e, (f) => f === "groupPrefix" || f.startsWith("ports"));
    expect(rest?.violations).toEqual([{ field: "somethingNew", message: "??" }]);
    expect(unpinned({ ...e, violations: e.violations.slice(0, 3) }, (f) => f === "groupPrefix" || f.startsWith("ports"))).toBeNull();
    expect(unpinned({ ...e, violations: [] }, () => true)).not.toBeNull();
  });
});

describe("grants and credentials", () => {
  it("revokes only grants that are or will be live", () => {
    expect([GrantState.PENDING, GrantState.APPROVED, GrantState.PROVISIONING, GrantState.ACTIVE, GrantState.REVOKED].map(revocable)).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
  });
  it("writes Kafka client settings with the password quoted safely", () => {
    const s = kafkaClientProperties({
      bootstrapServers: ["b1:9092", "b2:9092"],
      securityProtocol: "SASL_SSL",
      mechanism: "SCRAM-SHA-512",
      username: "marketing.reporter",
      password: 'p"w\\d',
    });
    expect(s).toContain("bootstrap.servers=b1:9092,b2:9092\n");
    expect(s).toContain("sasl.mechanism=SCRAM-SHA-512\n");
    expect(s).toContain('username="marketing.reporter" password="p\\"w\\\\d";');
  });
});
