import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { DeliveryState, EventsService } from "../gen/meshplane/v1/events_pb";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { create } from "@bufbuild/protobuf";
import { Webhooks, typesOf } from "./Webhooks";

afterEach(cleanup);

describe("typesOf", () => {
  it("reads types one per line or comma-separated, dropping blanks", () => {
    expect(typesOf(" dev.meshplane.provision.*\n\ndev.meshplane.access.GrantActivated, dev.meshplane.catalog.* ")).toEqual([
      "dev.meshplane.provision.*",
      "dev.meshplane.access.GrantActivated",
      "dev.meshplane.catalog.*",
    ]);
    expect(typesOf("  \n ")).toEqual([]);
  });
});

function renderWebhooks() {
  const calls: string[] = [];
  let active = true;
  const transport = createRouterTransport(({ service }) => {
    service(CatalogService, { listDomains: () => ({ domains: [{ name: "sales" }] }) });
    service(EventsService, {
      listWebhooks: () => ({
        webhooks: [{ id: "w1", domain: "sales", name: "ops", url: "https://hooks.example.com/m", active, version: 3n, createdBy: "olivia", types: [] }],
      }),
      createWebhook: (req) => {
        calls.push(`create ${req.domain}/${req.name} ${req.url} [${req.types.join(" ")}]`);
        if (req.url.includes("@")) {
          const err = new ConnectError("invalid request", Code.InvalidArgument);
          err.details.push({
            desc: BadRequestSchema,
            value: create(BadRequestSchema, { fieldViolations: [{ field: "url", description: "must not carry credentials: deliveries are signed instead" }] }),
          });
          throw err;
        }
        return { webhook: { id: "w2", domain: req.domain, name: req.name }, secret: "whsec_c2VjcmV0" };
      },
      updateWebhook: (req) => {
        calls.push(`update ${req.id} v${req.version} active=${req.active}`);
        active = !!req.active;
        return { webhook: { id: req.id } };
      },
      listWebhookDeliveries: () => ({
        deliveries: [
          { id: "d2", sequence: 42n, type: "dev.meshplane.provision.RunApplied", state: DeliveryState.FAILED, attempts: 12, responseStatus: 503, lastError: "the receiver answered 503 Service Unavailable" },
          { id: "d1", sequence: 41n, type: "dev.meshplane.provision.RunPlanned", state: DeliveryState.PENDING, attempts: 2 },
        ],
      }),
      replayWebhookDelivery: (req) => {
        calls.push(`replay ${req.id}`);
        return { delivery: { id: req.id, state: DeliveryState.PENDING } };
      },
    });
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={client}>
        <Webhooks />
      </QueryClientProvider>
    </TransportProvider>,
  );
  return calls;
}

describe("Webhooks", () => {
  it("registers a webhook, shows its secret once and pins field errors", async () => {
    const calls = renderWebhooks();
    const form = screen.getByRole("form", { name: "Register a webhook" });
    await waitFor(() => expect(within(form).getByRole("option", { name: "sales" })).toBeTruthy());
    fireEvent.change(within(form).getByLabelText("Domain"), { target: { value: "sales" } });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "pager" } });
    fireEvent.change(within(form).getByLabelText("URL"), { target: { value: "https://u:p@hooks.example.com" } });
    fireEvent.change(within(form).getByLabelText("Event types (optional)"), { target: { value: "dev.meshplane.provision.*" } });
    fireEvent.click(within(form).getByRole("button", { name: "Register webhook" }));
    expect(await within(form).findByText("must not carry credentials: deliveries are signed instead")).toBeTruthy();
    fireEvent.change(within(form).getByLabelText("URL"), { target: { value: "https://hooks.example.com/p" } });
    fireEvent.click(within(form).getByRole("button", { name: "Register webhook" }));
    expect(await screen.findByText("whsec_c2VjcmV0")).toBeTruthy();
    expect(calls).toEqual([
      "create sales/pager https://u:p@hooks.example.com [dev.meshplane.provision.*]",
      "create sales/pager https://hooks.example.com/p [dev.meshplane.provision.*]",
    ]);
  });

  it("pauses a webhook and replays a failed delivery from its log", async () => {
    const calls = renderWebhooks();
    const card = await screen.findByRole("region", { name: "Webhook sales / ops" });
    fireEvent.click(within(card).getByRole("button", { name: "Pause" }));
    await waitFor(() => expect(calls).toContain("update w1 v3 active=false"));
    fireEvent.click(within(card).getByRole("button", { name: "Show deliveries" }));
    const log = await within(card).findByRole("table");
    const rows = within(log).getAllByRole("row");
    expect(rows[1].textContent).toContain("#42");
    expect(rows[1].textContent).toContain("failed");
    expect(rows[1].textContent).toContain("HTTP 503");
    // A pending delivery is retried on its own: no replay for it.
    expect(within(rows[2]).queryByRole("button", { name: "Replay" })).toBeNull();
    fireEvent.click(within(rows[1]).getByRole("button", { name: "Replay" }));
    await waitFor(() => expect(calls).toContain("replay d2"));
  });
});
