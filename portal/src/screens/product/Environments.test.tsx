import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { DataProductSchema } from "../../gen/meshplane/v1/catalog_pb";
import { ProvisioningService } from "../../gen/meshplane/v1/provisioning_pb";
import { Environments } from "./Environments";

afterEach(cleanup);
// Choosing a run navigates, which scrolls; jsdom has no scrolling.
window.scrollTo = (() => {}) as typeof window.scrollTo;

function renderEnvironments(devVersion: bigint) {
  const calls: string[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(ProvisioningService, {
      listEnvironments: () => ({
        environments: [
          { name: "dev", default: true, sandbox: true, replicationFactor: 1 },
          { name: "prod", replicationFactor: 3, promoteFrom: ["dev"], parameters: { protected: true, maxRetentionMs: 259200000 } },
        ],
      }),
      listDeployments: () => ({ deployments: [{ environment: "dev", provisionedVersion: devVersion }, { environment: "prod" }] }),
      plan: (req) => {
        calls.push(`plan ${req.domain}/${req.product} in ${req.environment}`);
        return { run: { id: "r1" } };
      },
      promote: (req) => {
        calls.push(`promote ${req.domain}/${req.product} ${req.from}→${req.to}`);
        return { run: { id: "r2" } };
      },
    });
  });
  const p = create(DataProductSchema, { domain: "sales", name: "orders", version: 2n });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <Environments p={p} canChange />
      </QueryClientProvider>
    </TransportProvider>,
  );
  return calls;
}

describe("Environments", () => {
  it("plans in dev and promotes to prod once dev runs the current version", async () => {
    const calls = renderEnvironments(2n);
    const prod = (await screen.findByRole("rowheader", { name: /prod/ })).closest("tr")!;
    expect(within(prod).getByText("takes versions promoted from dev")).toBeTruthy();
    expect(within(prod).getByText("3 replicas per partition")).toBeTruthy();
    expect(within(prod).getByText("not provisioned")).toBeTruthy();
    const dev = screen.getByRole("rowheader", { name: /dev/ }).closest("tr")!;
    expect(within(dev).getByText(/version 2/)).toBeTruthy();
    fireEvent.click(within(dev).getByRole("button", { name: "Plan in dev" }));
    await waitFor(() => expect(calls).toContain("plan sales/orders in dev"));
    fireEvent.click(within(prod).getByRole("button", { name: "Promote version 2 from dev" }));
    await waitFor(() => expect(calls).toContain("promote sales/orders dev→prod"));
  });

  it("offers no promotion of a version dev does not run", async () => {
    renderEnvironments(1n);
    const prod = (await screen.findByRole("rowheader", { name: /prod/ })).closest("tr")!;
    expect(within(prod).queryByRole("button")).toBeNull();
    expect(within(prod).getByText("apply version 2 in dev to promote it here")).toBeTruthy();
  });
});
