// Access requests: the requester's own list (status, approvals given and
// awaited, decline reasons, cancel) and an approver's inbox.
import { useId, useState } from "react";
import { useInfiniteQuery, useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { AccessRequestState, AccessService, type AccessRequest } from "../../gen/meshplane/v1/access_pb";
import { describeError, violationsFor, type ApiError } from "../../lib/api";
import { Link } from "../../lib/router";
import { useSession } from "../../lib/session";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, When, dateOf } from "../../lib/ui";

import { approverLabel, days } from "../governance/describe";
import { grantState, requestState } from "./format";
import "./access.css";

/** portsOf names a request's ports, e.g. "sales/orders/customers". */
export function portsOf(r: AccessRequest): string[] {
  return r.grants.map((g) => `${g.domain}/${g.product}/${g.port}`);
}

/** conflictHint explains a stale version in words. */
function explain(err: ApiError | null): ApiError | null {
  if (!err) return null;
  if (err.code === "Aborted") {
    return { ...err, message: "This request changed since you loaded it (someone else decided or it was cancelled). It has been reloaded: check it and try again." };
  }
  return err;
}

export function RequestCard({ r, mode, onDecided }: { r: AccessRequest; mode: "mine" | "inbox"; onDecided?: Decided }) {
  const hid = useId();
  const s = requestState(r.state);
  const ports = portsOf(r);
  return (
    <article className="card request-card" aria-labelledby={hid}>
      <div className="section-head">
        <h3 id={hid}>
          {r.consumer} → {ports.join(", ") || "no ports"}
        </h3>
        <span>
          {r.environment && (
            <>
              <Badge title="The environment (Kafka cluster) the consumer reads in">in {r.environment}</Badge>{" "}
            </>
          )}
          <Badge tone={s.tone}>{s.label}</Badge>
        </span>
      </div>
      <p className="muted">
        Filed by {r.requestedBy} <When date={dateOf(r.createTime)} />
        {r.autoApproved && " · approved automatically by the access policy"}
      </p>
      <dl className="kv">
        <dt>Purpose</dt>
        <dd>{r.purpose}</dd>
        <dt>Duration</dt>
        <dd>
          {days(r.durationSeconds)} once active
          {r.maxDurationSeconds > 0n && <span className="muted"> (the policy allows at most {days(r.maxDurationSeconds)})</span>}
        </dd>
        <dt>Consumer group prefix</dt>
        <dd>
          <code>{r.groupPrefix}</code>
        </dd>
        <dt>Reads as</dt>
        <dd>
          <code>{r.kafkaPrincipal}</code> (service account of {r.consumerDomain})
        </dd>
      </dl>
      {r.policyError && (
        <Notice tone="warning">
          The access policy could not decide ({r.policyError}), so meshplane asks every owner and a governance officer, for at most 7 days.
        </Notice>
      )}
      {r.state === AccessRequestState.DECLINED && (
        <div className="banner error">
          <strong>Declined by {r.declinedBy || "an approver"}.</strong> <p>Reason: {r.declineReason || "none given"}</p>
        </div>
      )}
      {r.approvals.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="caption">Approvals the policy requires</caption>
            <thead>
              <tr>
                <th scope="col">Approval</th>
                <th scope="col">Why it is needed</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {r.approvals.map((a, i) => (
                <tr key={i}>
                  <td>{approverLabel(a.domain ? `${a.role}:${a.domain}` : a.role)}</td>
                  <td>{a.reason}</td>
                  <td>
                    {a.approvedBy ? (
                      <>
                        <Badge tone="good">Given</Badge> by {a.approvedBy} <When date={dateOf(a.approveTime)} />
                      </>
                    ) : r.state === AccessRequestState.PENDING ? (
                      <Badge tone="warn">Awaited</Badge>
                    ) : (
                      <Badge>Not given</Badge>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {r.state === AccessRequestState.PENDING && r.awaiting.length > 0 && (
        <p>
          <strong>Still waiting for:</strong> {r.awaiting.map(approverLabel).join(" and ")}.
        </p>
      )}
      {r.decisions.filter((d) => d.reason).length > 0 && (
        <ul className="plain-list decisions">
          {r.decisions
            .filter((d) => d.reason)
            .map((d, i) => (
              <li key={i}>
                {d.by} {d.decision === "decline" ? "declined" : "approved"}: “{d.reason}” <When date={dateOf(d.time)} />
              </li>
            ))}
        </ul>
      )}
      {r.state === AccessRequestState.APPROVED && r.grants.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="caption">Grants</caption>
            <thead>
              <tr>
                <th scope="col">Port</th>
                <th scope="col">State</th>
                <th scope="col">Until</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {r.grants.map((g) => {
                const gs = grantState(g.state);
                return (
                  <tr key={g.id}>
                    <td>
                      <code>{g.topic}</code>
                    </td>
                    <td>
                      <Badge tone={gs.tone}>{gs.label}</Badge>
                    </td>
                    <td>
                      {g.endTime ? (
                        <>
                          ended <When date={dateOf(g.endTime)} />
                        </>
                      ) : g.expireTime ? (
                        <When date={dateOf(g.expireTime)} />
                      ) : (
                        <span className="muted">counts from activation</span>
                      )}
                    </td>
                    <td>
                      {g.error || gs.help}
                      {g.endReason && <> “{g.endReason}”{g.endedBy && ` (${g.endedBy})`}</>}
                      {g.runId && (
                        <>
                          {" "}
                          <Link to={`/runs/${encodeURIComponent(g.runId)}`}>See the plan</Link>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {mode === "mine" && r.state === AccessRequestState.PENDING && <CancelRequest r={r} />}
      {mode === "inbox" && r.state === AccessRequestState.PENDING && <Decide r={r} onDecided={onDecided} />}
    </article>
  );
}

function CancelRequest({ r }: { r: AccessRequest }) {
  const [asking, setAsking] = useState(false);
  const qc = useQueryClient();
  const cancel = useMutation(AccessService.method.cancelAccessRequest, {
    onSettled: () => void qc.invalidateQueries(),
  });
  const err = explain(cancel.error ? describeError(cancel.error) : null);
  return (
    <div className="card-actions">
      <ErrorBanner error={err} title="The request was not cancelled" />
      {!asking ? (
        <button type="button" className="button" onClick={() => setAsking(true)}>
          Cancel request
        </button>
      ) : (
        <div className="row">
          <span>Withdraw this request? Approvers will no longer see it.</span>
          <button type="button" className="button danger" disabled={cancel.isPending} onClick={() => cancel.mutate({ id: r.id, version: r.version })}>
            {cancel.isPending ? "Cancelling…" : "Yes, cancel the request"}
          </button>
          <button type="button" className="button ghost" onClick={() => setAsking(false)}>
            Keep it
          </button>
        </div>
      )}
    </div>
  );
}

function Decide({ r, onDecided }: { r: AccessRequest; onDecided?: Decided }) {
  const [note, setNote] = useState("");
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState("");
  const qc = useQueryClient();
  const approve = useMutation(AccessService.method.approveAccessRequest, {
    onSuccess: (res) => onDecided?.(res.accessRequest ?? r, "approved"),
    onSettled: () => void qc.invalidateQueries(),
  });
  const decline = useMutation(AccessService.method.declineAccessRequest, {
    onSuccess: (res) => onDecided?.(res.accessRequest ?? r, "declined"),
    onSettled: () => void qc.invalidateQueries(),
  });
  const aErr = explain(approve.error ? describeError(approve.error) : null);
  const dErr = explain(decline.error ? describeError(decline.error) : null);
  const reasonErrs = violationsFor(dErr, "reason");
  return (
    <div className="card-actions">
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          approve.mutate({ id: r.id, reason: note.trim(), version: r.version });
        }}
      >
        <Field label="Approval note (optional)" help="Recorded with your approval; the requester sees it." errors={violationsFor(aErr, "reason")}>
          {(id, d) => <input id={id} aria-describedby={d} value={note} onChange={(e) => setNote(e.target.value)} />}
        </Field>
        <button type="submit" className="button primary" disabled={approve.isPending || decline.isPending}>
          {approve.isPending ? "Approving…" : "Approve"}
        </button>
        {!declining && (
          <button type="button" className="button" onClick={() => setDeclining(true)}>
            Decline…
          </button>
        )}
      </form>
      <ErrorBanner error={aErr && violationsFor(aErr, "reason").length === 0 ? aErr : null} title="Your approval was not recorded" />
      {declining && (
        <form
          className="confirm decline-form"
          onSubmit={(e) => {
            e.preventDefault();
            decline.mutate({ id: r.id, reason: reason.trim(), version: r.version });
          }}
        >
          <Field
            label="Reason for declining"
            help="Required. The requester sees it, so say what would make the request acceptable (for example “use the aggregated port instead”)."
            errors={reasonErrs}
          >
            {(id, d) => <textarea id={id} aria-describedby={d} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} required />}
          </Field>
          <ErrorBanner error={dErr && reasonErrs.length === 0 ? dErr : null} title="The request was not declined" />
          <div className="row">
            <button type="submit" className="button danger" disabled={!reason.trim() || decline.isPending}>
              {decline.isPending ? "Declining…" : "Decline request"}
            </button>
            <button type="button" className="button ghost" onClick={() => setDeclining(false)}>
              Do not decline
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

type Decided = (r: AccessRequest, what: "approved" | "declined") => void;

export function Inbox() {
  const q = useQuery(AccessService.method.listAccessRequests, { awaitingMe: true, pageSize: 100 });
  const [last, setLast] = useState<{ r: AccessRequest; what: "approved" | "declined" } | null>(null);
  const err = q.error ? describeError(q.error) : null;
  const list = q.data?.accessRequests ?? [];
  return (
    <div>
      <h2>Awaiting my approval</h2>
      <p className="muted">
        Requests you may approve now: as an owner of the product's domain, or as a governance officer for personal data. You cannot
        approve a request you filed or one for your own service account (four eyes).
      </p>
      {last && (
        <Notice tone="success">
          You {last.what} the request of {last.r.consumer} for {portsOf(last.r).join(", ")}
          {last.r.environment && ` in ${last.r.environment}`}.{" "}
          {last.what === "approved" &&
            (last.r.state === AccessRequestState.APPROVED
              ? "It is fully approved: the grants are being set up."
              : last.r.awaiting.length > 0
                ? `It still waits for ${last.r.awaiting.map(approverLabel).join(" and ")}.`
                : "")}
          {last.what === "declined" && "The requester sees your reason."}
        </Notice>
      )}
      <ErrorBanner error={err} title="Your inbox could not be loaded" />
      {q.isPending && <Loading what="Loading requests awaiting you" />}
      {q.data && list.length === 0 && (
        <EmptyState title="Nothing waits for your approval" action={{ to: "/access?tab=grants", label: "Review existing grants" }}>
          When someone asks to read a port you approve, the request appears here.
        </EmptyState>
      )}
      {list.map((r) => (
        <RequestCard key={r.id} r={r} mode="inbox" onDecided={(r, what) => setLast({ r, what })} />
      ))}
    </div>
  );
}

const STATES: { v: AccessRequestState; label: string }[] = [
  { v: AccessRequestState.UNSPECIFIED, label: "Any state" },
  { v: AccessRequestState.PENDING, label: "Waiting for approval" },
  { v: AccessRequestState.APPROVED, label: "Approved" },
  { v: AccessRequestState.DECLINED, label: "Declined" },
  { v: AccessRequestState.CANCELLED, label: "Cancelled" },
];

export function MyRequests() {
  const { principal } = useSession();
  const [others, setOthers] = useState(false);
  const [state, setState] = useState<AccessRequestState>(AccessRequestState.UNSPECIFIED);
  const stateId = useId();
  const othersId = useId();
  const q = useInfiniteQuery(
    AccessService.method.listAccessRequests,
    { state, pageSize: 50, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (l) => l.nextPageToken || undefined },
  );
  const err = q.error ? describeError(q.error) : null;
  const all = q.data?.pages.flatMap((p) => p.accessRequests) ?? [];
  const list = others ? all : all.filter((r) => r.requestedBy === principal?.name || r.consumer === principal?.name);
  return (
    <div>
      <h2>My requests</h2>
      <div className="facets">
        <div className="field">
          <label htmlFor={stateId}>State</label>
          <select id={stateId} value={state} onChange={(e) => setState(Number(e.target.value) as AccessRequestState)}>
            {STATES.map((s) => (
              <option key={s.v} value={s.v}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field checkbox">
          <span>
            <input id={othersId} type="checkbox" checked={others} onChange={(e) => setOthers(e.target.checked)} />{" "}
            <label htmlFor={othersId}>Include requests filed by others that I can see</label>
          </span>
        </div>
      </div>
      <ErrorBanner error={err} title="The requests could not be loaded" />
      {q.isPending && <Loading what="Loading requests" />}
      {q.data && list.length === 0 && (
        <EmptyState title={others ? "No requests match" : "You have filed no requests yet"} action={{ to: "/access?tab=request", label: "Request access" }}>
          Ask for a service account to read a data product's ports; the request and its approvals show up here.
        </EmptyState>
      )}
      {list.map((r) => (
        <RequestCard key={r.id} r={r} mode="mine" />
      ))}
      {q.hasNextPage && (
        <button type="button" className="button" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          {q.isFetchingNextPage ? "Loading…" : "Load older requests"}
        </button>
      )}
    </div>
  );
}
