// Audit: the tamper-evident log of changes to this product (and, on
// request, raw reads of a port's personal data).
import { useState } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { AuditService, type AuditEvent } from "../../gen/meshplane/v1/audit_pb";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { describeError } from "../../lib/api";
import { EmptyState, ErrorBanner, Field, Loading, When, dateOf } from "../../lib/ui";

import { PageButtons, TableScroll, usePages } from "./common";
import { auditAction, changedMembers } from "./format";

export function AuditTab({ p }: { p: DataProduct }) {
  const [about, setAbout] = useState("");
  const pages = usePages();
  const resourceType = about ? "port" : "product";
  const resource = about ? `${p.domain}/${p.name}/${about}` : `${p.domain}/${p.name}`;
  const q = useQuery(AuditService.method.listAuditEvents, { domain: p.domain, resourceType, resource, pageSize: 25, pageToken: pages.token });
  return (
    <>
      <div className="product-narrow">
      <Field label="Show events about" help="Changes to the product itself, or the raw reads of one port's personal data.">
        {(id, d) => (
          <select
            id={id}
            aria-describedby={d || undefined}
            value={about}
            onChange={(e) => {
              setAbout(e.target.value);
              pages.reset();
            }}
          >
            <option value="">Changes to the product</option>
            {p.ports.map((x) => (
              <option key={x.name} value={x.name}>
                Raw reads of port {x.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      </div>
      {q.isPending ? (
        <Loading what="Loading the audit log" />
      ) : q.error ? (
        <ErrorBanner error={describeError(q.error)} title="The audit log could not be loaded" />
      ) : q.data.events.length === 0 && pages.number === 1 ? (
        <EmptyState title="No events">
          {about
            ? `Nobody has read port ${about} with raw personal data.`
            : "No audited change to this product is visible to you; reading a domain's audit log needs the domain owner role."}
        </EmptyState>
      ) : (
        <>
          <TableScroll label="Audit events">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Changed</th>
                  <th scope="col">Event</th>
                </tr>
              </thead>
              <tbody>
                {q.data.events.map((e) => (
                  <EventRow key={String(e.sequence)} e={e} />
                ))}
              </tbody>
            </table>
          </TableScroll>
          <PageButtons pages={pages} next={q.data.nextPageToken} label="Pages of audit events" />
        </>
      )}
    </>
  );
}

function EventRow({ e }: { e: AuditEvent }) {
  const changed = e.before ? changedMembers(e.before, e.after) : [];
  return (
    <tr>
      <td>
        <When date={dateOf(e.time)} />
      </td>
      <td>{e.actor}</td>
      <th scope="row">
        {auditAction(e.action)}
        <span className="muted product-block mono">{e.action}</span>
      </th>
      <td>
        {!e.before ? (
          <span className="muted">{e.after ? "first recorded" : "—"}</span>
        ) : changed.length ? (
          changed.join(", ")
        ) : (
          <span className="muted">nothing but bookkeeping</span>
        )}
      </td>
      <td>
        <span className="mono">#{String(e.sequence)}</span>
        {e.requestId && <span className="muted product-block mono">request {e.requestId}</span>}
      </td>
    </tr>
  );
}
