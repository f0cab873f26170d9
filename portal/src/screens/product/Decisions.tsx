// Policy decisions: the log of every admission and masking decision the
// policy made about this product, newest first.
import { useQuery } from "@connectrpc/connect-query";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { PolicyService, type PolicyDecision } from "../../gen/meshplane/v1/policy_pb";
import { describeError } from "../../lib/api";
import { Badge, EmptyState, ErrorBanner, Loading, When, dateOf } from "../../lib/ui";

import { PageButtons, TableScroll, usePages } from "./common";
import { decisionSummary } from "./format";

export function Decisions({ p }: { p: DataProduct }) {
  const pages = usePages();
  const q = useQuery(PolicyService.method.listPolicyDecisions, { domain: p.domain, product: p.name, pageSize: 25, pageToken: pages.token });
  if (q.isPending) return <Loading what="Loading policy decisions" />;
  if (q.error) return <ErrorBanner error={describeError(q.error)} title="The policy decisions could not be loaded" />;
  if (q.data.decisions.length === 0 && pages.number === 1) {
    return (
      <EmptyState title="No policy decisions yet">
        The policy judges the product each time it is saved or planned: whether it is admitted, and how each field is masked.
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted">
        Every time the product is saved or planned, the published policy decides whether it is admitted and how each field is masked.
        A decision that <strong>failed closed</strong> means the policy could not answer, so meshplane refused or withheld to be safe.
      </p>
      <TableScroll label="Policy decisions about this product">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Decision</th>
              <th scope="col">Outcome</th>
              <th scope="col">Policy version</th>
              <th scope="col">Asked by</th>
            </tr>
          </thead>
          <tbody>
            {q.data.decisions.map((d) => (
              <DecisionRow key={d.id} d={d} />
            ))}
          </tbody>
        </table>
      </TableScroll>
      <PageButtons pages={pages} next={q.data.nextPageToken} label="Pages of policy decisions" />
    </>
  );
}

function DecisionRow({ d }: { d: PolicyDecision }) {
  const summary = decisionSummary(d.kind, d.result);
  return (
    <tr>
      <td>
        <When date={dateOf(d.time)} />
      </td>
      <th scope="row">{d.kind === "admission" ? "Admission" : d.kind === "masking" ? "Masking" : d.kind}</th>
      <td>
        {d.failedClosed ? (
          <Badge tone="bad">failed closed</Badge>
        ) : d.kind === "admission" ? (
          d.allowed ? (
            <Badge tone="good">admitted</Badge>
          ) : (
            <Badge tone="bad">refused</Badge>
          )
        ) : (
          <Badge tone="info">decided</Badge>
        )}
        {summary && <span className="product-block">{summary}</span>}
        {d.error && <span className="product-block product-error-text">{d.error}</span>}
        {d.result && (
          <details className="product-details">
            <summary>Full decision</summary>
            <pre tabIndex={0}>{pretty(d.result)}</pre>
          </details>
        )}
      </td>
      <td className="mono">{d.policyVersion || "—"}</td>
      <td>
        {d.actor || <span className="muted">meshplane</span>}
        {d.trigger && <span className="muted product-block">{d.trigger}</span>}
      </td>
    </tr>
  );
}

function pretty(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}
