// Grants: who reads what, in which state, until when, and revoking.
import { Fragment, useId, useState } from "react";
import { useInfiniteQuery, useMutation, useQuery } from "@connectrpc/connect-query";
import { skipToken, useQueryClient } from "@tanstack/react-query";
import { AccessService, GrantState, type Grant } from "../../gen/meshplane/v1/access_pb";
import { CatalogService } from "../../gen/meshplane/v1/catalog_pb";
import { describeError, violationsFor } from "../../lib/api";
import { Link, setQuery, useLocation } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, When, dateOf } from "../../lib/ui";

import { days } from "../governance/describe";
import { grantState, revocable } from "./format";
import { useServiceAccounts } from "./RequestForm";
import "./access.css";

const ALL_STATES = [
  GrantState.PENDING,
  GrantState.APPROVED,
  GrantState.PROVISIONING,
  GrantState.ACTIVE,
  GrantState.REVOKING,
  GrantState.EXPIRING,
  GrantState.EXPIRED,
  GrantState.REVOKED,
  GrantState.DECLINED,
  GrantState.CANCELLED,
];

export function Grants() {
  const { query } = useLocation();
  const by = query.get("by") === "consumer" ? "consumer" : "product";
  const gp = query.get("product") ?? ""; // domain/product
  const gc = query.get("consumer") ?? "";
  const ended = query.get("ended") === "1";
  const [domain, product] = gp.includes("/") ? gp.split("/", 2) : ["", ""];
  const byId = useId();
  const endedId = useId();

  const ready = by === "consumer" ? !!gc : !!(domain && product);
  const input = ready
    ? {
        ...(by === "consumer" ? { consumer: gc } : { domain, product }),
        states: ended ? ALL_STATES : [],
        pageSize: 100,
        pageToken: "",
      }
    : skipToken;
  const q = useInfiniteQuery(AccessService.method.listGrants, input, {
    pageParamKey: "pageToken",
    getNextPageParam: (l) => l.nextPageToken || undefined,
  });
  const err = q.error ? describeError(q.error) : null;
  const grants = q.data?.pages.flatMap((p) => p.grants) ?? [];

  return (
    <div>
      <h2>Grants</h2>
      <p className="muted">A grant is one service account's permission to read one port. Pick a data product to see who reads it, or a service account to see what it reads.</p>
      <div className="facets">
        <fieldset className="radio-group">
          <legend id={byId}>Show grants of</legend>
          <label>
            <input type="radio" name={byId} checked={by === "product"} onChange={() => setQuery({ by: undefined })} /> a data product
          </label>
          <label>
            <input type="radio" name={byId} checked={by === "consumer"} onChange={() => setQuery({ by: "consumer" })} /> a service account
          </label>
        </fieldset>
        {by === "product" ? <ProductPicker value={gp} /> : <ConsumerPicker value={gc} />}
        <div className="field checkbox">
          <span>
            <input id={endedId} type="checkbox" checked={ended} onChange={(e) => setQuery({ ended: e.target.checked ? "1" : undefined })} />{" "}
            <label htmlFor={endedId}>Include ended grants (expired, revoked, declined, cancelled)</label>
          </span>
        </div>
      </div>
      <ErrorBanner error={err} title="The grants could not be loaded" />
      {!ready && <p className="muted">Choose {by === "product" ? "a data product" : "a service account"} above.</p>}
      {ready && q.isPending && <Loading what="Loading grants" />}
      {ready && q.data && grants.length === 0 && (
        <EmptyState title={by === "product" ? `Nobody reads ${gp} yet` : `${gc} reads no port yet`} action={{ to: "/access?tab=request" + (by === "product" ? `&request=${encodeURIComponent(gp)}` : ""), label: "Request access" }}>
          {ended ? "No grant, live or ended, matches." : "No live grant matches; include ended grants to see past ones."}
        </EmptyState>
      )}
      {grants.length > 0 && <GrantTable grants={grants} />}
      {q.hasNextPage && (
        <button type="button" className="button" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          {q.isFetchingNextPage ? "Loading…" : "Load more grants"}
        </button>
      )}
    </div>
  );
}

function ProductPicker({ value }: { value: string }) {
  const products = useQuery(CatalogService.method.listDataProducts, { pageSize: 500 });
  return (
    <Field label="Data product" help="Its consumers, port by port.">
      {(id, d) => (
        <select id={id} aria-describedby={d} value={value} onChange={(e) => setQuery({ product: e.target.value || undefined })}>
          <option value="">Choose a data product</option>
          {products.data?.dataProducts.map((p) => (
            <option key={p.domain + "/" + p.name} value={`${p.domain}/${p.name}`}>
              {p.domain}/{p.name}
            </option>
          ))}
          {value && products.data && !products.data.dataProducts.some((p) => `${p.domain}/${p.name}` === value) && <option value={value}>{value}</option>}
        </select>
      )}
    </Field>
  );
}

function ConsumerPicker({ value }: { value: string }) {
  const sas = useServiceAccounts();
  return (
    <Field label="Service account" help="What it may read.">
      {(id, d) => (
        <select id={id} aria-describedby={d} value={value} onChange={(e) => setQuery({ consumer: e.target.value || undefined })}>
          <option value="">Choose a service account</option>
          {sas.accounts.map((a) => (
            <option key={a.name} value={a.name}>
              {a.name} ({a.domain})
            </option>
          ))}
          {value && sas.data && !sas.accounts.some((a) => a.name === value) && <option value={value}>{value}</option>}
        </select>
      )}
    </Field>
  );
}

function GrantTable({ grants }: { grants: Grant[] }) {
  const [revoking, setRevoking] = useState<string | null>(null);
  const [done, setDone] = useState<Grant | null>(null);
  // Grants filed before environments were chosen name none: no column then.
  const byEnv = grants.some((g) => g.environment);
  return (
    <>
      {done && (
        <Notice tone="success">
          Revoked {done.consumer}'s access to {done.domain}/{done.product}/{done.port}
          {done.environment && ` in ${done.environment}`}. {grantState(done.state).help}
        </Notice>
      )}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Grants</caption>
          <thead>
            <tr>
              <th scope="col">Consumer</th>
              <th scope="col">Port</th>
              {byEnv && <th scope="col">Environment</th>}
              <th scope="col">State</th>
              <th scope="col">Purpose</th>
              <th scope="col">Until</th>
              <th scope="col">Details</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => {
              const s = grantState(g.state);
              return (
                <Fragment key={g.id}>
                  <tr>
                    <td>
                      {g.consumer}
                      <div className="muted">
                        <code>{g.kafkaPrincipal}</code>
                      </div>
                    </td>
                    <td>
                      {g.domain}/{g.product}/{g.port}
                      <div className="muted">
                        <code>{g.topic}</code>
                      </div>
                    </td>
                    {byEnv && <td>{g.environment}</td>}
                    <td>
                      <Badge tone={s.tone}>{s.label}</Badge>
                    </td>
                    <td>{g.purpose}</td>
                    <td className="nowrap">
                      {g.endTime ? (
                        <>
                          ended <When date={dateOf(g.endTime)} />
                        </>
                      ) : g.expireTime ? (
                        <When date={dateOf(g.expireTime)} />
                      ) : (
                        <span className="muted">{days(g.durationSeconds)} once active</span>
                      )}
                    </td>
                    <td>
                      {g.error ? <span className="warn-text">{g.error}</span> : <span className="muted">{s.help}</span>}
                      {g.endedBy && (
                        <div>
                          Ended by {g.endedBy}
                          {g.endReason && <>: “{g.endReason}”</>}
                        </div>
                      )}
                      {g.runId && (
                        <div>
                          <Link to={`/runs/${encodeURIComponent(g.runId)}`}>See the plan</Link>
                        </div>
                      )}
                    </td>
                    <td>
                      {revocable(g.state) && revoking !== g.id && (
                        <button type="button" className="button" onClick={() => setRevoking(g.id)}>
                          Revoke…
                          <span className="sr-only">
                            {" "}
                            {g.consumer}'s access to {g.domain}/{g.product}/{g.port}
                            {g.environment && ` in ${g.environment}`}
                          </span>
                        </button>
                      )}
                    </td>
                  </tr>
                  {revoking === g.id && (
                    <tr>
                      <td colSpan={byEnv ? 8 : 7}>
                        <RevokeForm
                          grant={g}
                          onCancel={() => setRevoking(null)}
                          onDone={(res) => {
                            setRevoking(null);
                            setDone(res);
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function RevokeForm(props: { grant: Grant; onCancel(): void; onDone(g: Grant): void }) {
  const [reason, setReason] = useState("");
  const qc = useQueryClient();
  const revoke = useMutation(AccessService.method.revokeGrant, {
    onSuccess: (res) => {
      if (res.grant) props.onDone(res.grant);
    },
    onSettled: () => void qc.invalidateQueries(),
  });
  const err = revoke.error ? describeError(revoke.error) : null;
  const reasonErrs = violationsFor(err, "reason");
  const g = props.grant;
  return (
    <form
      className="confirm"
      onSubmit={(e) => {
        e.preventDefault();
        revoke.mutate({ id: g.id, reason: reason.trim() });
      }}
    >
      <strong>
        Revoke {g.consumer}'s access to {g.domain}/{g.product}/{g.port}
        {g.environment && ` in ${g.environment}`}
      </strong>
      <p>A plan removes its ACLs from the broker at once; the consumer can read until that plan applies. This cannot be undone: they would need a new request.</p>
      <Field label="Reason for revoking" help="Required. Recorded on the grant and in the audit log; the consumer's team sees it." errors={reasonErrs}>
        {(id, d) => <input id={id} aria-describedby={d} value={reason} onChange={(e) => setReason(e.target.value)} required autoFocus />}
      </Field>
      <ErrorBanner error={err && reasonErrs.length === 0 ? err : null} title="The grant was not revoked" />
      <div className="row">
        <button type="submit" className="button danger" disabled={!reason.trim() || revoke.isPending}>
          {revoke.isPending ? "Revoking…" : "Revoke grant"}
        </button>
        <button type="button" className="button ghost" onClick={props.onCancel}>
          Keep the grant
        </button>
      </div>
    </form>
  );
}
