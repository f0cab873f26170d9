// Drift: what the last drift check found changed outside meshplane.
import { Lifecycle, type DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import type { AttributeChange } from "../../gen/meshplane/v1/provisioning_pb";
import { Badge, EmptyState, Notice, When, dateOf } from "../../lib/ui";

import { TableScroll } from "./common";

const actionWords: Record<string, string> = {
  create: "missing: would be created again",
  update: "changed: would be set back",
  delete: "unexpected: would be removed",
  replace: "changed: would be replaced",
  read: "read",
  "no-op": "unchanged",
};

export function Drift({ p }: { p: DataProduct }) {
  const checked = dateOf(p.driftCheckTime);
  if (p.lifecycle === Lifecycle.RETIRED) {
    return (
      <EmptyState title="Nothing to check">
        This product was decommissioned: its topics, ACLs and connectors were destroyed, so nothing can drift.
      </EmptyState>
    );
  }
  if (!p.provisionedVersion && !checked) {
    return (
      <EmptyState title="Never checked">
        This product has never been provisioned, so there is nothing in Kafka to compare yet. Once a plan is applied, meshplane checks
        regularly whether anyone changed its topics, ACLs or connectors by hand.
      </EmptyState>
    );
  }
  if (!checked) {
    return (
      <EmptyState title="Never checked">
        No drift check has run since the product was provisioned. meshplane checks regularly whether anyone changed its topics, ACLs
        or connectors outside meshplane; the result shows here.
      </EmptyState>
    );
  }
  if (p.drift.length === 0) {
    return (
      <p className="product-status-line product-good-text">
        <Badge tone="good">in sync</Badge> No drift found at <When date={checked} /> ({checked.toLocaleString()}): everything matches what
        was last applied.
      </p>
    );
  }
  return (
    <>
      <Notice tone="warning">
        The drift check <When date={checked} /> found {p.drift.length} resource{p.drift.length === 1 ? "" : "s"} changed outside
        meshplane. Nothing was changed back. Plan the product to see exactly what applying it would restore, then approve it.
      </Notice>
      <TableScroll label="Resources changed outside meshplane">
        <table>
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">What a plan would do</th>
              <th scope="col">Attributes that differ (as applied → as found)</th>
            </tr>
          </thead>
          <tbody>
            {p.drift.map((rc) => (
              <tr key={rc.address} className={rc.reason ? "destructive" : undefined}>
                <th scope="row">
                  <span className="mono">{rc.address}</span>
                  <span className="muted product-block">{rc.type}</span>
                </th>
                <td>
                  {actionWords[rc.action] ?? rc.action}
                  {rc.reason && (
                    <span className="product-block">
                      <Badge tone="bad">deletes data</Badge> {rc.reason}
                    </span>
                  )}
                </td>
                <td>
                  {rc.attributes.length === 0 ? <span className="muted">—</span> : <Attributes list={rc.attributes} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

const shown = 5;

function AttributeItems({ list }: { list: AttributeChange[] }) {
  return (
    <ul className="product-plain product-attrs">
      {list.map((a) => (
        <li key={a.path}>
          <span className="mono">{a.path}</span>: <code>{a.before || "(none)"}</code> → <code>{a.after || "(none)"}</code>
        </li>
      ))}
    </ul>
  );
}

/** Attributes lists the first few changed attributes and folds the rest away. */
function Attributes({ list }: { list: AttributeChange[] }) {
  if (list.length <= shown + 1) return <AttributeItems list={list} />;
  return (
    <>
      <AttributeItems list={list.slice(0, shown)} />
      <details className="product-details">
        <summary>Show the other {list.length - shown} attributes</summary>
        <AttributeItems list={list.slice(shown)} />
      </details>
    </>
  );
}
