import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import {
  CatalogService,
  Classification,
  DataProductFacetsSchema,
  DataProductHealth,
  DataProductOrderField,
  DataProductSchema,
  Lifecycle,
  type ListDataProductsRequest,
} from "../gen/meshplane/v1/catalog_pb";
import { Catalog } from "./Catalog";
import { clearAll, describeFilters, facetCounts, filtersFromQuery, isFiltered, listRequest, optionLabel, parseLabels, queryChange } from "./catalog/filters";
import { classificationsOf, hasPII, health, healthDetail, lifecycleFromWord, pendingChanges, productPath } from "./catalog/model";

afterEach(() => {
  cleanup();
  window.history.replaceState(null, "", "/");
});

describe("catalog filters", () => {
  it("reads the URL query into a request", () => {
    const f = filtersFromQuery(
      new URLSearchParams("q=%20orders%20&domain=sales&lifecycle=active&labels=tier%3Dgold&health=drifted&classification=pii&sort=updated&page=abc"),
    );
    expect(f.q).toBe("orders");
    const req = listRequest(f, 10);
    expect(req).toMatchObject({
      domain: "sales",
      lifecycle: Lifecycle.ACTIVE,
      text: "orders",
      labels: { tier: "gold" },
      health: DataProductHealth.DRIFTED,
      classification: Classification.PII,
      includeFacets: true,
      pageSize: 10,
      pageToken: "abc",
      orderBy: DataProductOrderField.UPDATE_TIME,
      descending: true,
    });
  });

  it("sorts by name by default and ignores an unknown lifecycle", () => {
    const req = listRequest(filtersFromQuery(new URLSearchParams("lifecycle=bogus&health=meh&classification=secret")));
    expect(req.health).toBe(DataProductHealth.UNSPECIFIED);
    expect(req.classification).toBe(Classification.UNSPECIFIED);
    expect(req.orderBy).toBe(DataProductOrderField.NAME);
    expect(req.descending).toBeUndefined();
    expect(req.lifecycle).toBe(Lifecycle.UNSPECIFIED);
    expect(lifecycleFromWord("unknown")).toBe(Lifecycle.UNSPECIFIED);
    expect(lifecycleFromWord("retired")).toBe(Lifecycle.RETIRED);
  });

  it("starts again from the first page when a filter changes, not when paging", () => {
    expect(queryChange("domain", "sales")).toEqual({ domain: "sales", page: undefined });
    expect(queryChange("q", "")).toEqual({ q: undefined, page: undefined });
    expect(queryChange("page", "tok")).toEqual({ page: "tok" });
    expect(clearAll()).toEqual({
      page: undefined,
      q: undefined,
      domain: undefined,
      lifecycle: undefined,
      labels: undefined,
      health: undefined,
      classification: undefined,
    });
  });

  it("does not count sort or page as a filter", () => {
    expect(isFiltered(filtersFromQuery(new URLSearchParams("sort=created&page=x")))).toBe(false);
    expect(isFiltered(filtersFromQuery(new URLSearchParams("labels=a%3Db")))).toBe(true);
  });

  it("describes only the filters that apply", () => {
    expect(describeFilters(filtersFromQuery(new URLSearchParams("q=email&labels=gold%20tier%3Dgold&health=drifted&classification=pii")))).toBe(
      "matching “email”, labelled tier=gold, where drift was found, with PII fields",
    );
  });

  it("parses labels and names the pairs it cannot read", () => {
    expect(parseLabels("tier=gold, team=web  x=")).toEqual({ labels: { tier: "gold", team: "web", x: "" }, problems: [] });
    const bad = parseLabels("gold =web");
    expect(bad.labels).toEqual({});
    expect(bad.problems).toHaveLength(2);
    expect(bad.problems[0]).toContain("“gold”");
  });
});

describe("facet counts", () => {
  const facets = create(DataProductFacetsSchema, {
    totalSize: 3,
    domains: [{ domain: "sales", count: 2 }, { domain: "hr", count: 1 }],
    lifecycles: [{ lifecycle: Lifecycle.ACTIVE, count: 2 }, { lifecycle: Lifecycle.DRAFT, count: 1 }, { lifecycle: Lifecycle.RETIRED, count: 0 }],
    health: [{ health: DataProductHealth.DRIFTED, count: 1 }],
    classifications: [{ classification: Classification.PII, count: 2 }],
  });

  it("keys counts by the words the URL uses", () => {
    const c = facetCounts(facets, filtersFromQuery(new URLSearchParams()));
    expect(c.domain?.get("hr")).toBe(1);
    expect(c.lifecycle?.get("active")).toBe(2);
    expect(c.health?.get("drifted")).toBe(1);
    expect(c.classification?.get("pii")).toBe(2);
  });

  it("keeps only the chosen option's count of a filtered facet", () => {
    const c = facetCounts(facets, filtersFromQuery(new URLSearchParams("lifecycle=active")));
    expect([...(c.lifecycle ?? [])]).toEqual([["active", 2]]);
    expect(optionLabel("draft", "draft", c.lifecycle, false)).toBe("draft");
    expect(optionLabel("active", "active", c.lifecycle, false)).toBe("active (2)");
    expect(c.domain?.get("sales")).toBe(2);
  });

  it("shows zero for options an unfiltered facet does not list, and nothing without facets", () => {
    const c = facetCounts(facets, filtersFromQuery(new URLSearchParams()));
    expect(optionLabel("marketing", "marketing", c.domain, true)).toBe("marketing (0)");
    expect(optionLabel("sales", "sales", null, true)).toBe("sales");
    expect(facetCounts(undefined, filtersFromQuery(new URLSearchParams())).domain).toBeNull();
  });
});

describe("product model", () => {
  const field = (classification: Classification) => ({ name: "f", classification });
  const product = (over: MessageInitShape<typeof DataProductSchema> = {}) => create(DataProductSchema, over);

  it("uses the server's health, telling decommissioned from never provisioned", () => {
    expect(health(product({ health: DataProductHealth.NOT_PROVISIONED }))).toBe("never");
    expect(health(product({ health: DataProductHealth.NOT_PROVISIONED, lifecycle: Lifecycle.RETIRED, provisionedVersion: 3n }))).toBe(
      "decommissioned",
    );
    expect(health(product({ health: DataProductHealth.DRIFTED, provisionedVersion: 1n }))).toBe("drift");
    expect(health(product({ health: DataProductHealth.IN_SYNC, provisionedVersion: 1n }))).toBe("in-sync");
  });

  it("derives health from provisioning and drift when the server does not say", () => {
    expect(health(product())).toBe("never");
    expect(health(product({ provisionedVersion: 2n }))).toBe("in-sync");
    expect(health(product({ provisionedVersion: 2n, drift: [{ address: "kafka_topic.x", action: "update" }] }))).toBe("drift");
  });

  it("says when the current version is not provisioned yet", () => {
    const p = product({ version: 3n, provisionedVersion: 2n, driftCheckTime: { seconds: 1n, nanos: 0 } });
    expect(pendingChanges(p)).toBe(true);
    expect(healthDetail(p)).toContain("Version 3 has changes that are not provisioned yet (version 2 is)");
    expect(pendingChanges(product({ version: 1n }))).toBe(false);
  });

  it("finds PII and lists classifications strictest first", () => {
    const p = product({
      ports: [
        { name: "a", fields: [field(Classification.NONE), field(Classification.PII)] },
        { name: "b", fields: [field(Classification.SENSITIVE)] },
      ],
    });
    expect(hasPII(p)).toBe(true);
    expect(classificationsOf(p)).toEqual([Classification.SENSITIVE, Classification.PII, Classification.NONE]);
    expect(hasPII(product({ ports: [{ name: "a", fields: [field(Classification.INTERNAL)] }] }))).toBe(false);
  });

  it("builds product URLs", () => {
    expect(productPath("sales", "orders")).toBe("/products/sales/orders");
    expect(productPath("sales", "orders", "runs")).toBe("/products/sales/orders/runs");
  });
});

type ListAnswer = { dataProducts: MessageInitShape<typeof DataProductSchema>[]; nextPageToken?: string; facets?: MessageInitShape<typeof DataProductFacetsSchema> };

function renderCatalog(list: (req: ListDataProductsRequest) => ListAnswer) {
  const seen: ListDataProductsRequest[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(CatalogService, {
      listDataProducts: (req) => {
        seen.push(req);
        return list(req);
      },
      listDomains: () => ({ domains: [{ name: "sales" }] }),
    });
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={client}>
        <Catalog />
      </QueryClientProvider>
    </TransportProvider>,
  );
  return seen;
}

describe("Catalog screen", () => {
  it("invites to register the first product when the catalog is empty", async () => {
    renderCatalog(() => ({ dataProducts: [] }));
    expect(await screen.findByText("No data products yet")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Register a product" }).getAttribute("href")).toBe("/products/new");
    expect(screen.getByLabelText("Search products")).toBeTruthy();
  });

  it("says when filters match nothing and offers to clear them", async () => {
    window.history.replaceState(null, "", "/?q=zzz&domain=sales&sort=created");
    const seen = renderCatalog(() => ({ dataProducts: [] }));
    expect(await screen.findByText("No products match these filters")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Clear all filters" }).getAttribute("href")).toBe("/?sort=created");
    expect(seen[0]).toMatchObject({ text: "zzz", domain: "sales", orderBy: DataProductOrderField.CREATE_TIME });
  });

  it("lists products with their PII, health and a link to each", async () => {
    renderCatalog(() => ({
      facets: { totalSize: 30, domains: [{ domain: "sales", count: 30 }] },
      dataProducts: [
        {
          domain: "sales",
          name: "orders",
          owner: "team@example.com",
          lifecycle: Lifecycle.ACTIVE,
          provisionedVersion: 1n,
          version: 1n,
          ports: [{ name: "customers", fields: [{ name: "email", classification: Classification.PII }] }],
        },
      ],
      nextPageToken: "next",
    }));
    const link = await screen.findByRole("link", { name: "orders" });
    expect(link.getAttribute("href")).toBe("/products/sales/orders");
    expect(screen.getByText("PII")).toBeTruthy();
    expect(screen.getByText("in sync")).toBeTruthy();
    expect(screen.getByRole("columnheader", { name: "Health" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Next page" })).toBeTruthy();
    expect(screen.getByRole("status").textContent).toBe("Showing 1 to 1 of 30 products.");
    expect(screen.getByRole("option", { name: "sales (30)" })).toBeTruthy();
  });
});
