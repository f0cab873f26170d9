// A data product's page: what it is, what it publishes and how each field is
// masked, who reads it, what meshplane did to it and what changed outside
// meshplane — with the actions its team needs (edit, plan, decommission).
import { useId, useState } from "react";
import { Code } from "@connectrpc/connect";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, Lifecycle, type DataProduct } from "../gen/meshplane/v1/catalog_pb";
import { ProvisioningService } from "../gen/meshplane/v1/provisioning_pb";
import { IdentityService } from "../gen/meshplane/v1/identity_pb";
import { describeError } from "../lib/api";
import { Link, navigate } from "../lib/router";
import { Badge, ErrorBanner, Loading, Notice, Page, TabPanel, Tabs, TypedConfirm } from "../lib/ui";
import { LifecycleAction } from "./product/LifecycleAction";
import { HealthBadge, LifecycleBadge, pendingChanges, productPath } from "./catalog/model";
import { allowedActions } from "./product/roles";
import { Overview } from "./product/Overview";
import { Ports } from "./product/Ports";
import { Preview } from "./product/Preview";
import { Sinks } from "./product/Sinks";
import { Connectors } from "./product/Connectors";
import { Environments } from "./product/Environments";
import { Runs } from "./product/Runs";
import { Drift } from "./product/Drift";
import { Grants } from "./product/Grants";
import { Decisions } from "./product/Decisions";
import { AuditTab } from "./product/AuditTab";
import "./catalog/Catalog.css";
import "./product/Product.css";

/** The product page's tabs; the id is the last segment of the tab's URL. */
export const productTabs = [
  { id: "overview", label: "Overview" },
  { id: "ports", label: "Ports & schema" },
  { id: "preview", label: "Masked preview" },
  { id: "sinks", label: "Sinks" },
  { id: "runs", label: "Runs" },
  { id: "environments", label: "Environments" },
  { id: "drift", label: "Drift" },
  { id: "consumers", label: "Consumers & grants" },
  { id: "policy", label: "Policy decisions" },
  { id: "audit", label: "Audit" },
] as const;

export type ProductTab = (typeof productTabs)[number]["id"];

/** tabOf picks the tab a URL segment names; anything else shows the overview. */
export function tabOf(segment: string | undefined): ProductTab {
  return productTabs.find((t) => t.id === segment)?.id ?? "overview";
}

export function Product(props: { domain: string; name: string; tab?: string }) {
  const { domain, name } = props;
  const q = useQuery(
    CatalogService.method.getDataProduct,
    { domain, name },
    { retry: (n, e) => n < 1 && e.code !== Code.NotFound && e.code !== Code.PermissionDenied && e.code !== Code.InvalidArgument },
  );
  const title = `${domain}/${name}`;
  if (q.isPending) {
    return (
      <Page title={title}>
        <Loading what="Loading the product" />
      </Page>
    );
  }
  const err = q.error ? describeError(q.error) : null;
  const p = q.data?.dataProduct;
  if ((err && (err.code === "NotFound" || err.code === "InvalidArgument")) || (!err && !p)) {
    return (
      <Page title="Product not found">
        <div className="empty">
          <p className="empty-title">
            There is no product <code>{title}</code> that you may see.
          </p>
          <p className="muted">
            It may have been deleted or renamed, the link may be mistyped, or it belongs to a domain you have no role in (ask its
            domain owner for a viewer role).
          </p>
          <Link className="button primary" to="/">
            Back to the catalog
          </Link>
        </div>
      </Page>
    );
  }
  if (err || !p) {
    return (
      <Page title={title}>
        <ErrorBanner error={err} title="The product could not be loaded" />
        <p>
          <Link to="/">Back to the catalog</Link>
        </p>
      </Page>
    );
  }
  return <ProductView p={p} tab={props.tab} />;
}

function ProductView({ p, tab }: { p: DataProduct; tab?: string }) {
  const selected = tabOf(tab);
  const unknownTab = tab !== undefined && tab !== selected;
  const retired = p.lifecycle === Lifecycle.RETIRED;
  const who = useQuery(IdentityService.method.whoAmI, {}, { staleTime: 60_000 });
  const allowed = allowedActions(who.data?.roleBindings, p.domain);
  const canChange = !retired && allowed.change;
  const canDecommission = !retired && allowed.decommission;
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const confirmId = useId();

  const toRun = (id: string | undefined) => {
    void qc.invalidateQueries();
    if (id) navigate(`/runs/${encodeURIComponent(id)}`);
  };
  const plan = useMutation(ProvisioningService.method.plan, { onSuccess: (r) => toRun(r.run?.id) });
  const decommission = useMutation(ProvisioningService.method.decommission, { onSuccess: (r) => toRun(r.run?.id) });

  const select = (id: string) => {
    navigate(productPath(p.domain, p.name, id));
    // Keep the keyboard focus on the tab just chosen (arrow keys move it).
    requestAnimationFrame(() => document.getElementById("tab-" + id)?.focus());
  };

  return (
    <Page
      title={`${p.domain}/${p.name}`}
      description={p.description || "No description yet: edit the product to say what it holds and who it is for."}
      actions={
        <>
          {canChange && (
            <Link className="button" to={productPath(p.domain, p.name, "edit")}>
              Edit
            </Link>
          )}
          {canChange && (
            <button type="button" className="button primary" disabled={plan.isPending} onClick={() => plan.mutate({ domain: p.domain, product: p.name })}>
              {plan.isPending ? "Planning…" : "Plan"}
            </button>
          )}
          {canDecommission && <LifecycleAction p={p} />}
          {!retired && (
            <Link className="button" to={`/access?request=${p.domain}/${p.name}`}>
              Request access
            </Link>
          )}
          {canDecommission && (
            <button
              type="button"
              className="button danger"
              aria-expanded={confirming}
              aria-controls={confirmId}
              onClick={() => setConfirming((c) => !c)}
            >
              Decommission
            </button>
          )}
        </>
      }
    >
      <div className="product-meta row">
        <LifecycleBadge lifecycle={p.lifecycle} />
        <HealthBadge product={p} />
        <span>
          <span className="muted">Owner:</span> {p.owner || <span className="muted">nobody named yet</span>}
        </span>
        <span>
          <span className="muted">Version:</span> {String(p.version)}
        </span>
        {pendingChanges(p) && <Badge tone="warn">changes not provisioned</Badge>}
      </div>
      {canChange && (
        <p className="muted product-hint">
          <strong>Plan</strong> shows what would change in Kafka and the connectors; nothing changes until someone approves the plan.
        </p>
      )}
      {!retired && !allowed.change && (
        <p className="muted product-hint">
          Your role in {p.domain} ({allowed.roles.join(", ") || "none"}) lets you read this product but not edit, plan or decommission it.
        </p>
      )}
      {retired && (
        <Notice>
          This product is retired: it is read-only, its topics, ACLs and connectors were destroyed and nobody can request access to it.
        </Notice>
      )}

      {plan.error && <ErrorBanner error={describeError(plan.error)} title="The plan could not be queued" />}

      {confirming && canDecommission && (
        <section id={confirmId} className="card product-decommission" aria-labelledby={confirmId + "-h"}>
          <h2 id={confirmId + "-h"}>Decommission {p.domain}/{p.name}</h2>
          {decommission.error && <ErrorBanner error={describeError(decommission.error)} title="Decommissioning could not be planned" />}
          <TypedConfirm word={p.name} label="Plan decommission" busy={decommission.isPending} onConfirm={() => decommission.mutate({ domain: p.domain, product: p.name })}>
            <p>
              This plans the destruction of everything meshplane created for this product: its Kafka topics and the records in them, their
              ACLs and its connectors. Every consumer loses access. Nothing is destroyed until someone approves the plan; once it is
              applied, the product is retired for good.
            </p>
          </TypedConfirm>
          <p>
            <button type="button" className="button ghost" onClick={() => setConfirming(false)}>
              Keep the product
            </button>
          </p>
        </section>
      )}

      <Tabs label="About this product" tabs={productTabs.map((t) => ({ id: t.id, label: t.label }))} selected={selected} onSelect={select} />
      <TabPanel id={selected}>
        <div className="product-tab">
        {unknownTab && (
          <Notice tone="warning">
            This page has no tab called “{tab}”; showing the overview instead.
          </Notice>
        )}
        {selected === "overview" && <Overview p={p} />}
        {selected === "ports" && <Ports p={p} />}
        {selected === "preview" && <Preview p={p} />}
        {selected === "sinks" && <Sinks p={p} />}
        {selected === "runs" && (
          <>
            <Connectors p={p} canOperate={!retired && allowed.operate} />
            <Runs p={p} />
          </>
        )}
        {selected === "environments" && <Environments p={p} canChange={canChange} />}
        {selected === "drift" && <Drift p={p} />}
        {selected === "consumers" && <Grants p={p} />}
        {selected === "policy" && <Decisions p={p} />}
        {selected === "audit" && <AuditTab p={p} />}
        </div>
      </TabPanel>
    </Page>
  );
}
