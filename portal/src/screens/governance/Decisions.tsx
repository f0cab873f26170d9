// The decision log of one product: every admission and masking decision
// the policies made about it, newest first.
import { useId, useState } from "react";
import { useInfiniteQuery, useQuery } from "@connectrpc/connect-query";
import { skipToken } from "@tanstack/react-query";
import { PolicyService } from "../../gen/meshplane/v1/policy_pb";
import { CatalogService } from "../../gen/meshplane/v1/catalog_pb";
import { describeError } from "../../lib/api";
import { setQuery, useLocation } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Field, Loading, dateOf } from "../../lib/ui";
import { exact, formatMicros, prettyJSON } from "./common";

export function DecisionsPanel() {
  const { query } = useLocation();
  const domain = query.get("domain") ?? "";
  const product = query.get("product") ?? "";
  const [d, setD] = useState(domain);
  const [p, setP] = useState(product);
  const listId = useId();
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  const products = useQuery(CatalogService.method.listDataProducts, d ? { domain: d, pageSize: 500 } : skipToken);
  const log = useInfiniteQuery(
    PolicyService.method.listPolicyDecisions,
    domain && product ? { domain, product, pageSize: 50, pageToken: "" } : skipToken,
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
  const err = log.error ? describeError(log.error) : null;
  const rows = log.data?.pages.flatMap((pg) => pg.decisions) ?? [];

  return (
    <div>
      <h2>Decision log</h2>
      <p className="muted">Every admission and masking decision the policies made about one product, newest first, with the version that decided.</p>
      <form
        className="facets"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ domain: d.trim() || undefined, product: p.trim() || undefined });
        }}
      >
        <Field label="Domain" help="The product's domain.">
          {(id, desc) => (
            <select id={id} aria-describedby={desc} value={d} onChange={(e) => setD(e.target.value)}>
              <option value="">Choose a domain</option>
              {domains.data?.domains.map((x) => (
                <option key={x.name} value={x.name}>
                  {x.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Product" help="Type or pick its name; retired products keep their log.">
          {(id, desc) => (
            <>
              <input id={id} aria-describedby={desc} list={listId} value={p} onChange={(e) => setP(e.target.value)} autoComplete="off" />
              <datalist id={listId}>
                {products.data?.dataProducts.map((x) => (
                  <option key={x.name} value={x.name} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <div className="field">
          <button type="submit" className="button primary" disabled={!d.trim() || !p.trim()}>
            Show decisions
          </button>
        </div>
      </form>
      <ErrorBanner error={err} title="The decision log could not be loaded" />
      {!(domain && product) && <p className="muted">Choose a domain and a product to see its decisions.</p>}
      {domain && product && log.isPending && <Loading what="Loading decisions" />}
      {domain && product && log.data && rows.length === 0 && (
        <EmptyState title={`No decisions recorded for ${domain}/${product}`}>
          Decisions are recorded whenever the product is created, changed or planned. Check the spelling, or plan the product to record one.
        </EmptyState>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">
              Decisions about {domain}/{product}
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Outcome</th>
                <th scope="col">Trigger and actor</th>
                <th scope="col">Policy version</th>
                <th scope="col">Took</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((x) => (
                <tr key={x.id}>
                  <td className="nowrap">{exact(dateOf(x.time))}</td>
                  <td>{x.kind}</td>
                  <td>
                    {x.failedClosed ? (
                      <Badge tone="bad">failed closed</Badge>
                    ) : x.kind === "admission" ? (
                      x.allowed ? (
                        <Badge tone="good">admitted</Badge>
                      ) : (
                        <Badge tone="bad">refused</Badge>
                      )
                    ) : (
                      <Badge tone="info">decided</Badge>
                    )}
                    {x.error && <div className="muted">{x.error}</div>}
                  </td>
                  <td>
                    {x.trigger}
                    {x.actor && <div className="muted">by {x.actor}</div>}
                  </td>
                  <td>
                    <code>{x.policyVersion}</code>
                  </td>
                  <td className="nowrap">{formatMicros(x.durationUs)}</td>
                  <td>
                    {x.result ? (
                      <details>
                        <summary>Show the result</summary>
                        <pre className="inline-pre">{prettyJSON(x.result)}</pre>
                      </details>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.hasNextPage && (
        <button type="button" className="button" disabled={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
          {log.isFetchingNextPage ? "Loading…" : "Load older decisions"}
        </button>
      )}
    </div>
  );
}
