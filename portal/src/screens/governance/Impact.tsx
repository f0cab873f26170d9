// The impact dry-run: what publishing the draft would change, product by
// product, in tables a reviewer can read top to bottom.
import type { PolicyImpact, PolicyViolation } from "../../gen/meshplane/v1/policy_pb";
import { Link } from "../../lib/router";
import { Badge } from "../../lib/ui";
import { formatMicros, plural } from "./common";
import { approverLabel, days, describeMasking, describeOutcome, maskingDirection } from "./describe";

export function ImpactView({ impact }: { impact: PolicyImpact }) {
  const total = impact.admissionChanges.length + impact.maskingChanges.length + impact.connectorChanges.length + impact.accessChanges.length;
  const queued = impact.connectorChanges.filter((c) => c.provisioned);
  return (
    <div>
      <p>
        Compared with version {impact.publishedVersion || "— (none in force)"} over {plural(impact.productsEvaluated, "product")}
        {impact.accessRequestsEvaluated > 0 && <> and {plural(impact.accessRequestsEvaluated, "pending access request")}</>}, in{" "}
        {formatMicros(impact.durationUs)}.{" "}
        {total === 0 ? (
          <strong>Publishing this draft changes nothing for any product or request.</strong>
        ) : (
          <>
            <strong>{plural(total, "change")}</strong>
            {queued.length > 0 && <> — publishing queues a plan for {plural(new Set(queued.map((c) => c.domain + "/" + c.product)).size, "provisioned product")}</>}
            .
          </>
        )}
      </p>

      <h3>Admission: products whose verdict flips</h3>
      {impact.admissionChanges.length === 0 ? (
        <p className="muted">No product changes between admitted and refused.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Admission changes</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Now</th>
                <th scope="col">With the draft</th>
                <th scope="col">Messages with the draft</th>
                <th scope="col">Messages now</th>
              </tr>
            </thead>
            <tbody>
              {impact.admissionChanges.map((c) => (
                <tr key={c.domain + "/" + c.product} className={c.allowedBefore && !c.allowedAfter ? "destructive" : undefined}>
                  <td>
                    <ProductLink domain={c.domain} product={c.product} />
                  </td>
                  <td>{verdict(c.allowedBefore)}</td>
                  <td>{verdict(c.allowedAfter)}</td>
                  <td>
                    <Messages list={c.violationsAfter} />
                  </td>
                  <td>
                    <Messages list={c.violationsBefore} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h3>Masking: fields whose treatment changes</h3>
      {impact.maskingChanges.length === 0 ? (
        <p className="muted">No field's masking changes.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Masking changes</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Port and field</th>
                <th scope="col">Where</th>
                <th scope="col">Now</th>
                <th scope="col">With the draft</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {impact.maskingChanges.map((c, i) => {
                const d = c.after ?? c.before;
                const dir = maskingDirection(c.before, c.after);
                return (
                  <tr key={i}>
                    <td>
                      <ProductLink domain={c.domain} product={c.product} />
                    </td>
                    <td>
                      <code>
                        {d?.port}.{d?.field}
                      </code>
                      {d?.classification && (
                        <>
                          {" "}
                          <Badge tone={d.classification === "pii" ? "pii" : d.classification === "sensitive" ? "sensitive" : "neutral"}>
                            {d.classification}
                          </Badge>
                        </>
                      )}
                    </td>
                    <td>{d?.sink ? `sink ${d.sink}` : "topic (source connector)"}</td>
                    <td>{describeMasking(c.before)}</td>
                    <td>
                      {describeMasking(c.after)}
                      {c.after?.reason && <div className="muted">{c.after.reason}</div>}
                    </td>
                    <td>
                      {dir === "stricter" ? (
                        <Badge tone="good">more protected</Badge>
                      ) : dir === "looser" ? (
                        <Badge tone="warn">less protected</Badge>
                      ) : (
                        <Badge>different</Badge>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h3>Connectors whose settings would change</h3>
      {impact.connectorChanges.length === 0 ? (
        <p className="muted">No connector's settings change.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Connector changes</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Connector</th>
                <th scope="col">Settings added, changed or removed</th>
                <th scope="col">On publish</th>
              </tr>
            </thead>
            <tbody>
              {impact.connectorChanges.map((c, i) => (
                <tr key={i}>
                  <td>
                    <ProductLink domain={c.domain} product={c.product} />
                  </td>
                  <td>
                    <code>{c.connector}</code>
                  </td>
                  <td>
                    <ul className="plain-list">
                      {c.keys.map((k) => (
                        <li key={k}>
                          <code>{k}</code>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    {c.provisioned ? (
                      <Badge tone="info">a plan is queued for its owners</Badge>
                    ) : (
                      <span className="muted">not provisioned: nothing to plan</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {(impact.module === "access" || impact.accessRequestsEvaluated > 0 || impact.accessChanges.length > 0) && (
        <>
          <h3>Pending access requests whose approvers or limits change</h3>
          {impact.accessChanges.length === 0 ? (
            <p className="muted">No pending request would be decided differently.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Access changes</caption>
                <thead>
                  <tr>
                    <th scope="col">Request</th>
                    <th scope="col">Consumer</th>
                    <th scope="col">Now</th>
                    <th scope="col">With the draft</th>
                  </tr>
                </thead>
                <tbody>
                  {impact.accessChanges.map((c) => (
                    <tr key={c.requestId}>
                      <td>
                        <code>{c.requestId}</code>
                      </td>
                      <td>{c.consumer}</td>
                      <td>{describeOutcome(c.before)}</td>
                      <td>
                        {describeOutcome(c.after)}
                        {c.after && c.before && c.after.maxDurationSeconds !== c.before.maxDurationSeconds && (
                          <div className="muted">
                            longest access {days(c.before.maxDurationSeconds)} → {days(c.after.maxDurationSeconds)}
                          </div>
                        )}
                        {c.after && c.before && c.after.approvers.join() !== c.before.approvers.join() && (
                          <div className="muted">
                            approvers: {c.before.approvers.map(approverLabel).join(", ") || "none"} →{" "}
                            {c.after.approvers.map(approverLabel).join(", ") || "none"}
                          </div>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function verdict(allowed: boolean) {
  return allowed ? <Badge tone="good">admitted</Badge> : <Badge tone="bad">refused</Badge>;
}

function Messages({ list }: { list: PolicyViolation[] }) {
  if (list.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain-list">
      {list.map((v, i) => (
        <li key={i}>
          {v.path && <code>{v.path}</code>}
          {v.path && ": "}
          {v.message}
        </li>
      ))}
    </ul>
  );
}

function ProductLink({ domain, product }: { domain: string; product: string }) {
  return (
    <Link to={`/products/${encodeURIComponent(domain)}/${encodeURIComponent(product)}`}>
      {domain}/{product}
    </Link>
  );
}
