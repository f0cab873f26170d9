import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { match } from "./router";
import { describeError, violationsFor } from "./api";
import { relative } from "./ui";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb";

describe("match", () => {
  it("binds named segments and decodes them", () => {
    expect(match("/products/:domain/:name", "/products/sales/or%20ders")).toEqual({ domain: "sales", name: "or ders" });
  });
  it("refuses a different shape", () => {
    expect(match("/products/:domain/:name", "/products/sales")).toBeNull();
    expect(match("/runs/:id", "/products/x")).toBeNull();
  });
});

describe("describeError", () => {
  it("reads the server's reason and field violations from the error details", () => {
    const br = create(BadRequestSchema, {
      fieldViolations: [
        { field: "spec.ports[0].fields[1].classification", description: "must be one of public, internal, pii, sensitive" },
        { field: "name", description: "must be snake_case" },
      ],
    });
    const info = create(ErrorInfoSchema, { reason: "POLICY_DENIED", domain: "meshplane.dev" });
    const err = new ConnectError("denied by policy", Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: br },
      { desc: ErrorInfoSchema, value: info },
    ]);
    const d = describeError(err);
    expect(d.reason).toBe("POLICY_DENIED");
    expect(d.code).toBe("InvalidArgument");
    expect(d.message).toBe("denied by policy");
    expect(violationsFor(d, "spec.ports[0]")).toEqual(["must be one of public, internal, pii, sensitive"]);
    expect(violationsFor(d, "spec.ports[0].fields[1].classification")).toHaveLength(1);
    expect(violationsFor(d, "spec.ports[1]")).toEqual([]);
    expect(violationsFor(d, "nam")).toEqual([]);
  });
  it("describes anything else by its message", () => {
    expect(describeError(new Error("offline")).message).toBe("offline");
    expect(describeError("x").violations).toEqual([]);
  });
});

describe("relative", () => {
  it("says how long ago or until", () => {
    const now = new Date("2026-01-01T12:00:00Z");
    expect(relative(new Date("2026-01-01T11:58:00Z"), now)).toBe("2 minutes ago");
    expect(relative(new Date("2026-01-03T12:00:00Z"), now)).toBe("in 2 days");
  });
});

import { audiences } from "./nav";

describe("audiences", () => {
  it("offers governance screens to officers and admins only, the audit log also to owners", () => {
    expect([...audiences(["viewer"])]).toEqual(["everyone"]);
    expect(audiences(["domain-owner"]).has("auditors")).toBe(true);
    expect(audiences(["domain-owner"]).has("governance")).toBe(false);
    expect(audiences(["governance-officer"]).has("governance")).toBe(true);
    expect(audiences(["platform-admin", "viewer"]).has("auditors")).toBe(true);
  });
});
