import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { CatalogService, Classification, DataProductSchema, Lifecycle } from "../gen/meshplane/v1/catalog_pb";
import { MaskingDecisionSchema, PolicyService } from "../gen/meshplane/v1/policy_pb";
import { IdentityService } from "../gen/meshplane/v1/identity_pb";
import { ConnectorState, ProvisioningService } from "../gen/meshplane/v1/provisioning_pb";
import { Product, tabOf } from "./Product";
import {
  changedMembers,
  compactKey,
  decisionSummary,
  decisionText,
  duration,
  explainField,
  newestFirst,
  policyPart,
  previewRow,
  retention,
  sinkDecisionText,
} from "./product/format";
import { allowedActions } from "./product/roles";

// jsdom does not scroll; navigate() asks it to.
window.scrollTo = () => {};

afterEach(() => {
  cleanup();
  window.history.replaceState(null, "", "/");
});

const decision = (init: MessageInitShape<typeof MaskingDecisionSchema>) => create(MaskingDecisionSchema, init);

describe("human units", () => {
  it("says durations in the largest exact unit", () => {
    expect(duration(7 * 24 * 3600 * 1000)).toBe("1 week");
    expect(duration(30 * 24 * 3600 * 1000)).toBe("30 days");
    expect(duration(36 * 3600 * 1000)).toBe("36 hours");
    expect(duration(60_000)).toBe("1 minute");
    expect(duration(90_500)).toBe("about 1.5 minutes");
  });

  it("says retention, including forever", () => {
    expect(retention(-1n)).toMatch(/^forever/);
    expect(retention(604_800_000n)).toBe("1 week");
    expect(retention(365n * 24n * 3600n * 1000n)).toBe("1 year");
  });

  it("picks one module out of a policy version", () => {
    expect(policyPart("access@1,admission@2,masking@3", "masking")).toBe("masking@3");
    expect(policyPart("weird", "masking")).toBe("weird");
  });
});

describe("masking decisions", () => {
  it("say what happens to a field", () => {
    expect(decisionText(decision({ action: "allow" }))).toBe("raw — published as stored");
    expect(decisionText(decision({ action: "hash", algorithm: "SHA-256", salt: "default" }))).toBe("hashed — at source with SHA-256, salt “default”");
    expect(decisionText(decision({ action: "truncate", length: 4 }))).toBe("truncated — at source to 4 characters");
    expect(decisionText(decision({ action: "drop", fallback: true }))).toContain("the policy could not decide");
    expect(decisionText(undefined)).toContain("no decision");
    expect(sinkDecisionText(decision({ action: "drop", sink: "lake" }))).toBe("withheld — removed before the sink");
    expect(sinkDecisionText(decision({ action: "mask", chars: 3, sink: "lake" }))).toBe("masked — in this sink: replaced by 3 asterisks");
  });

  it("explain what a previewing reader sees", () => {
    const pii = { classification: Classification.PII, key: false };
    const open = { classification: Classification.NONE, key: true };
    const sensitive = { classification: Classification.SENSITIVE, key: false };
    const hash = decision({ action: "hash" });
    expect(explainField(pii, hash, true)).toMatchObject({ shown: "hashed" });
    expect(explainField(pii, hash, true).why).toContain("masked at source by the Debezium connector (hash)");
    expect(explainField(pii, hash, false).shown).toBe("pseudonymised");
    expect(explainField(pii, decision({ action: "allow" }), false).shown).toBe("pseudonymised");
    expect(explainField(pii, decision({ action: "allow" }), true).why).toContain("raw reads are audited");
    expect(explainField(sensitive, decision({ action: "drop" }), true)).toMatchObject({ shown: "withheld" });
    expect(explainField(sensitive, undefined, false).shown).toBe("withheld");
    expect(explainField({ classification: Classification.UNSPECIFIED, key: false }, undefined, false).why).toContain("unclassified");
    expect(explainField(open, decision({ action: "allow" }), false)).toMatchObject({ shown: "raw" });
    expect(explainField(open, decision({ action: "allow" }), false).why).toContain("record key, which stays unmasked");
  });

  it("summarise logged decisions", () => {
    expect(decisionSummary("admission", '{"allowed":true,"violations":null}')).toMatch(/^admitted/);
    expect(decisionSummary("admission", '{"allowed":false,"violations":[{"path":"spec.owner","message":"must be set"}]}')).toBe(
      "refused: spec.owner: must be set",
    );
    expect(decisionSummary("masking", '{"decisions":[{"Action":"allow"},{"Action":"hash"},{"Action":"allow"}]}')).toBe(
      "3 field decisions: 2 raw, 1 hashed",
    );
    expect(decisionSummary("masking", "not json")).toBe("");
  });
});

describe("preview records", () => {
  const fields = ["customer_id", "email", "phone"];

  it("reads a Debezium envelope's after image", () => {
    const row = previewRow('{"before":null,"after":{"customer_id":1,"email":"hmac-sha256:ab"},"op":"c","source":{}}', fields);
    expect(row.op).toBe("insert");
    expect(row.cells).toEqual({ customer_id: "1", email: "hmac-sha256:ab" });
    expect(row.absent).toEqual(["phone"]);
  });

  it("reads a delete's before image, and the JSON converter's payload", () => {
    expect(previewRow('{"before":{"customer_id":2},"after":null,"op":"d"}', fields).cells).toEqual({ customer_id: "2" });
    const wrapped = previewRow('{"schema":null,"payload":{"customer_id":3,"extra":true}}', fields);
    expect(wrapped.cells).toEqual({ customer_id: "3" });
    expect(wrapped.extra).toEqual({ extra: "true" });
  });

  it("keeps what is not a record of fields as raw text", () => {
    expect(previewRow("null", fields).raw).toBe("null");
    expect(previewRow("not json", fields).raw).toBe("not json");
  });

  it("shows keys compactly and orders records newest first", () => {
    expect(compactKey('{"customer_id":1}')).toBe("1");
    expect(compactKey('{"a":1,"b":2}')).toBe('{"a":1,"b":2}');
    expect(compactKey("null")).toBe("");
    const rec = (s: number, offset: bigint) => ({ timestamp: { seconds: BigInt(s), nanos: 0 }, partition: 0, offset });
    expect(newestFirst([rec(1, 0n), rec(3, 1n), rec(3, 2n)]).map((r) => r.offset)).toEqual([2n, 1n, 0n]);
  });
});

describe("audit and tabs", () => {
  it("lists the members an event changed, without bookkeeping", () => {
    expect(changedMembers('{"owner":"a","version":1,"ports":[1]}', '{"owner":"b","version":2,"ports":[1],"labels":{}}')).toEqual(["labels", "owner"]);
    expect(changedMembers("", "{}")).toEqual([]);
  });

  it("falls back to the overview for an unknown tab", () => {
    expect(tabOf("runs")).toBe("runs");
    expect(tabOf(undefined)).toBe("overview");
    expect(tabOf("bogus")).toBe("overview");
  });

  it("hides only actions the known roles certainly refuse", () => {
    expect(allowedActions([{ role: "viewer", domain: "sales" }], "sales")).toMatchObject({ change: false, decommission: false });
    expect(allowedActions([{ role: "domain-member", domain: "sales" }], "sales")).toMatchObject({ change: true, decommission: false });
    expect(allowedActions([{ role: "platform-admin", domain: "*" }], "sales")).toMatchObject({ change: true, decommission: true });
    expect(allowedActions([{ role: "domain-owner", domain: "hr" }], "sales")).toMatchObject({ change: false, roles: [] });
    expect(allowedActions([{ role: "custom-role", domain: "sales" }], "sales")).toMatchObject({ change: true, decommission: true });
    expect(allowedActions(undefined, "sales").change).toBe(true);
    expect(allowedActions([{ role: "domain-owner", domain: "sales" }], "sales").operate).toBe(true);
    expect(allowedActions([{ role: "domain-member", domain: "sales" }], "sales").operate).toBe(false);
  });
});

function renderProduct(tab?: string, opts: { missing?: boolean; roles?: { role: string; domain: string }[] } = {}) {
  const calls: string[] = [];
  let paused = false;
  const transport = createRouterTransport(({ service }) => {
    service(CatalogService, {
      getDataProduct: (req) => {
        if (opts.missing) throw new ConnectError(`data product ${req.domain}/${req.name} not found`, Code.NotFound);
        return {
          dataProduct: create(DataProductSchema, {
            domain: "sales",
            name: "orders",
            description: "Orders as they change.",
            owner: "team@example.com",
            lifecycle: Lifecycle.ACTIVE,
            version: 2n,
            provisionedVersion: 2n,
            ports: [
              {
                name: "customers",
                topic: "sales.orders.customers.v1",
                partitions: 3,
                retentionMs: 604_800_000n,
                fields: [
                  { name: "customer_id", classification: Classification.NONE, key: true },
                  { name: "email", classification: Classification.PII },
                ],
              },
            ],
          }),
        };
      },
    });
    service(PolicyService, {
      evaluateDataProduct: () => ({
        allowed: true,
        policyVersion: "admission@1,masking@4",
        masking: [
          { port: "customers", field: "customer_id", action: "allow" },
          { port: "customers", field: "email", action: "hash", algorithm: "SHA-256" },
        ],
      }),
    });
    service(IdentityService, { whoAmI: () => ({ roleBindings: opts.roles ?? [{ role: "domain-owner", domain: "sales" }] }) });
    service(ProvisioningService, {
      decommission: (req) => {
        calls.push(`decommission ${req.domain}/${req.product}`);
        return { run: { id: "run-1" } };
      },
      listRuns: () => ({ runs: [] }),
      listConnectors: () => ({
        connectors: [
          {
            name: "sales.orders.source",
            role: "source",
            state: paused ? ConnectorState.PAUSED : ConnectorState.RUNNING,
            lastRunId: "0123456789abcdef",
            tasks: [{ id: 0, state: ConnectorState.FAILED, trace: "environment variable SALES__DB_PASSWORD is not set" }],
          },
          { name: "sales.orders.lake", role: "lake", state: ConnectorState.NOT_DEPLOYED },
        ],
      }),
      pauseConnector: (req) => {
        calls.push(`pause ${req.domain}/${req.product} ${req.role}`);
        paused = true;
        return {};
      },
      resumeConnector: () => {
        throw new ConnectError("asking Kafka Connect to resume connector sales.orders.source: rebalance underway", Code.Unavailable);
      },
    });
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={client}>
        <Product domain="sales" name="orders" tab={tab} />
      </QueryClientProvider>
    </TransportProvider>,
  );
  return calls;
}

describe("Product screen", () => {
  it("says plainly when the product does not exist", async () => {
    renderProduct(undefined, { missing: true });
    expect(await screen.findByRole("heading", { level: 1, name: "Product not found" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to the catalog" }).getAttribute("href")).toBe("/");
  });

  it("shows each field's classification, key and masking with its policy version", async () => {
    renderProduct("ports");
    expect(await screen.findByRole("heading", { level: 2, name: "Port customers" })).toBeTruthy();
    expect(screen.getByRole("tab", { name: "Ports & schema" }).getAttribute("aria-selected")).toBe("true");
    expect(await screen.findByText("key — stays unmasked")).toBeTruthy();
    expect(screen.getByText("at source with SHA-256")).toBeTruthy();
    expect(screen.getAllByText("decided by masking@4")).toHaveLength(2);
    expect(screen.getByText("1 week")).toBeTruthy();
  });

  it("shows each connector's state and last error beside the run that changed it, and pauses it", async () => {
    const calls = renderProduct("runs");
    const source = (await screen.findByText("sales.orders.source")).closest("tr") as HTMLElement;
    expect(source.textContent).toContain("failed");
    expect(source.textContent).toContain("task 0 failed");
    expect(source.textContent).toContain("SALES__DB_PASSWORD is not set");
    expect(source.querySelector("a")?.getAttribute("href")).toBe("/runs/0123456789abcdef");
    const lake = screen.getByText("sales.orders.lake").closest("tr") as HTMLElement;
    expect(lake.textContent).toContain("not deployed");
    expect(lake.querySelector("button")).toBeNull();
    fireEvent.click(within(source).getByRole("button", { name: "Pause" }));
    fireEvent.click(await within(source).findByRole("button", { name: "Resume" }));
    expect((await screen.findByRole("alert")).textContent).toContain("rebalance underway");
    expect(calls).toEqual(["pause sales/orders source"]);
  });

  it("offers no connector operations to a viewer", async () => {
    renderProduct("runs", { roles: [{ role: "viewer", domain: "sales" }] });
    expect(await screen.findByText("sales.orders.source")).toBeTruthy();
    // Buttons show until the caller's roles are known, then go.
    await waitFor(() => expect(screen.queryByRole("columnheader", { name: "Operate" })).toBeNull());
    expect(screen.queryByRole("button", { name: "Pause" })).toBeNull();
  });

  it("decommissions only after the product name is typed", async () => {
    const calls = renderProduct();
    fireEvent.click(await screen.findByRole("button", { name: "Decommission" }));
    const confirm = screen.getByRole("button", { name: "Plan decommission" }) as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/to confirm/), { target: { value: "orders" } });
    expect(confirm.disabled).toBe(false);
    fireEvent.click(confirm);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual(["decommission sales/orders"]);
    expect(window.location.pathname).toBe("/runs/run-1");
  });
});
