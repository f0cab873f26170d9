// Consumers & grants: who may read this product's ports, why and until when.
import { useId, useState } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { AccessService, GrantState, type Grant } from "../../gen/meshplane/v1/access_pb";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { describeError } from "../../lib/api";
import { Link } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Loading, When, dateOf } from "../../lib/ui";

import { PageButtons, TableScroll, usePages } from "./common";
import { duration, everyGrantState, grantStateTones, grantStateWords } from "./format";

export function Grants({ p }: { p: DataProduct }) {
  const [ended, setEnded] = useState(false);
  const id = useId();
  const pages = usePages();
  const q = useQuery(AccessService.method.listGrants, {
    domain: p.domain,
    product: p.name,
    states: ended ? everyGrantState : [],
    pageSize: 50,
    pageToken: pages.token,
  });
  const requestLink = `/access?request=${p.domain}/${p.name}`;
  return (
    <>
      <div className="row product-spread">
        <p className="muted">Each grant lets one consumer (a service account) read one port. The broker enforces it with ACLs.</p>
        <div className="product-check">
          <input
            id={id}
            type="checkbox"
            checked={ended}
            onChange={(e) => {
              setEnded(e.target.checked);
              pages.reset();
            }}
          />
          <label htmlFor={id}>Include ended grants (expired, revoked, declined)</label>
        </div>
      </div>
      {q.isPending ? (
        <Loading what="Loading consumers" />
      ) : q.error ? (
        <ErrorBanner error={describeError(q.error)} title="The consumers could not be loaded" />
      ) : q.data.grants.length === 0 && pages.number === 1 ? (
        <EmptyState title={ended ? "Nobody has ever had access" : "No consumers yet"} action={{ to: requestLink, label: "Request access" }}>
          Nobody {ended ? "has ever been granted" : "currently has"} access to this product's ports. Consumers request access for a
          service account; the product's owners (and for personal data a governance officer) approve.
        </EmptyState>
      ) : (
        <>
          <TableScroll label="Consumers of this product">
            <table>
              <thead>
                <tr>
                  <th scope="col">Consumer</th>
                  <th scope="col">Port</th>
                  <th scope="col">State</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {q.data.grants.map((g) => (
                  <GrantRow key={g.id} g={g} />
                ))}
              </tbody>
            </table>
          </TableScroll>
          <PageButtons pages={pages} next={q.data.nextPageToken} label="Pages of consumers" />
        </>
      )}
    </>
  );
}

const ended = new Set([GrantState.EXPIRED, GrantState.REVOKED, GrantState.DECLINED, GrantState.CANCELLED]);

function GrantRow({ g }: { g: Grant }) {
  const expires = dateOf(g.expireTime);
  const gone = ended.has(g.state);
  return (
    <tr>
      <th scope="row">
        {g.consumer}
        {g.consumerDomain && <span className="muted"> · {g.consumerDomain}</span>}
        {g.kafkaPrincipal && <span className="muted product-block mono">{g.kafkaPrincipal}</span>}
      </th>
      <td className="mono">{g.port}</td>
      <td>
        <Badge tone={grantStateTones[g.state]}>{grantStateWords[g.state]}</Badge>
        {g.error && <span className="product-block product-error-text">{g.error}</span>}
        {g.runId && (
          <span className="product-block">
            <Link to={`/runs/${encodeURIComponent(g.runId)}`}>Its provisioning run</Link>
          </span>
        )}
      </td>
      <td>
        {gone ? (
          <>
            ended <When date={dateOf(g.endTime)} />
          </>
        ) : expires ? (
          <When date={expires} />
        ) : g.durationSeconds ? (
          <span className="muted">{duration(Number(g.durationSeconds) * 1000)} after it becomes active</span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>
        {g.purpose || <span className="muted">no purpose given</span>}
        {g.endReason && (
          <span className="product-block">
            Ended{g.endedBy ? ` by ${g.endedBy}` : ""}: {g.endReason}
          </span>
        )}
      </td>
    </tr>
  );
}
