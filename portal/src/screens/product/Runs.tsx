// Runs: every plan, apply and destroy of the product, newest first.
import { useQuery } from "@connectrpc/connect-query";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { ProvisioningService, RunKind, RunState, type Run } from "../../gen/meshplane/v1/provisioning_pb";
import { describeError } from "../../lib/api";
import { Link } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Loading, When, dateOf } from "../../lib/ui";

import { PageButtons, TableScroll, usePages } from "./common";
import { runBusy, runStateTones, runStateWords, shortId } from "./format";

const kindWords: Record<RunKind, string> = {
  [RunKind.UNSPECIFIED]: "run",
  [RunKind.APPLY]: "Apply",
  [RunKind.DESTROY]: "Destroy",
};

const triggerWords: Record<string, string> = {
  user: "asked by a person",
  policy: "a policy was published",
  grant: "access was granted",
  revoke: "access was revoked",
  expiry: "access expired",
  recovery: "an interrupted run, planned again",
  promotion: "promoted from another environment",
};

export function Runs({ p }: { p: DataProduct }) {
  const pages = usePages();
  const q = useQuery(
    ProvisioningService.method.listRuns,
    { domain: p.domain, product: p.name, pageSize: 20, pageToken: pages.token },
    { refetchInterval: (query) => (query.state.data?.runs.some((r) => runBusy(r.state)) ? 3000 : false) },
  );
  if (q.isPending) return <Loading what="Loading runs" />;
  if (q.error) return <ErrorBanner error={describeError(q.error)} title="The runs could not be loaded" />;
  const runs = q.data.runs;
  if (runs.length === 0 && pages.number === 1) {
    return (
      <EmptyState title="No runs yet">
        A run is a Terraform plan of this product's topics, ACLs and connectors, and its apply once approved. Use Plan at the top of
        this page to make the first one.
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted">Newest first. Open a run to see its plan, its log and to approve or cancel it.</p>
      <TableScroll label="Runs of this product">
        <table>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Environment</th>
              <th scope="col">State</th>
              <th scope="col">Why it ran</th>
              <th scope="col">Changes</th>
              <th scope="col">Created</th>
              <th scope="col">Who</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <RunRow key={r.id} r={r} />
            ))}
          </tbody>
        </table>
      </TableScroll>
      <PageButtons pages={pages} next={q.data.nextPageToken} label="Pages of runs" />
    </>
  );
}

function RunRow({ r }: { r: Run }) {
  const s = r.summary;
  return (
    <tr>
      <th scope="row">
        <Link to={`/runs/${encodeURIComponent(r.id)}`}>
          {kindWords[r.kind]} run {shortId(r.id)}
        </Link>
        <span className="muted product-block">product version {String(r.productVersion)}</span>
      </th>
      <td>{r.environment}</td>
      <td>
        <Badge tone={runStateTones[r.state]}>{runStateWords[r.state]}</Badge>
        {r.error && <span className="product-block product-error-text">{r.error}</span>}
      </td>
      <td>
        {triggerWords[r.trigger] ?? (r.trigger || "asked by a person")}
        {r.triggerDetail && <span className="muted product-block">{r.triggerDetail}</span>}
        {r.autoApply && <span className="muted product-block">approved by meshplane: it only changes consumer access</span>}
      </td>
      <td>
        {s && (s.create || s.update || s.delete || s.replace) ? (
          <>
            {[
              s.create && `${s.create} to create`,
              s.update && `${s.update} to change`,
              s.replace && `${s.replace} to replace`,
              s.delete && `${s.delete} to delete`,
            ]
              .filter(Boolean)
              .join(", ")}
            {r.destructive && (
              <span className="product-block">
                <Badge tone="bad">deletes data</Badge>
              </span>
            )}
          </>
        ) : !r.hasChanges && (r.state === RunState.PLANNED || r.state === RunState.APPLIED) ? (
          <span className="muted">no changes</span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>
        <When date={dateOf(r.createTime)} />
      </td>
      <td>
        {r.createdBy || <span className="muted">meshplane</span>}
        {r.approvedBy && <span className="muted product-block">approved by {r.approvedBy}</span>}
      </td>
    </tr>
  );
}
