// The audit log: every change, who made it and what it changed, with
// filters kept in the URL, and a check of the tamper-evident hash chain.
import { Fragment, useId, useState } from "react";
import { useInfiniteQuery, useQuery } from "@connectrpc/connect-query";
import { useMutation } from "@tanstack/react-query";
import { AuditService, type AuditEvent, type VerifyAuditLogResponse } from "../gen/meshplane/v1/audit_pb";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { audit, describeError } from "../lib/api";
import { setQuery, useLocation } from "../lib/router";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, Page, When, dateOf } from "../lib/ui";
import { DiffTable, exact, plural } from "./governance/common";
import { diffJSON, filtersFrom, keep, localInput, FILTER_KEYS, type AuditFilters } from "./governance/auditDiff";
import { diffLines } from "./governance/diff";
import "./governance/governance.css";

/** Resource types the server records, for the filter. */
const RESOURCE_TYPES = ["access-request", "credential", "domain", "grant", "policy", "port", "principal", "product", "rbac", "rolebinding", "run", "token", "webhook"];

export function AuditExplorer() {
  const { query } = useLocation();
  const f = filtersFrom(query);
  const q = useInfiniteQuery(
    AuditService.method.listAuditEvents,
    { actor: f.actor, domain: f.domain, resourceType: f.type, resource: f.resource, pageSize: 100, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (l) => l.nextPageToken || undefined },
  );
  const err = q.error ? describeError(q.error) : null;
  const loaded = q.data?.pages.flatMap((p) => p.events) ?? [];
  const events = loaded.filter((e) => keep({ action: e.action, time: dateOf(e.time) }, f));
  const local = !!(f.action || f.since || f.until);
  const since = localInput(f.since);
  const oldest = loaded.length ? dateOf(loaded[loaded.length - 1].time) : null;
  const more = q.hasNextPage && !(since && oldest && oldest < since);
  const [verified, setVerified] = useState<Verified>(null);
  const verify = useMutation<VerifyAuditLogResponse, unknown, void>({
    mutationFn: () => audit.verifyAuditLog({}),
    onMutate: () => setVerified(null),
    onSuccess: (data) => setVerified({ data }),
    onError: (error) => setVerified({ error }),
  });

  return (
    <Page
      title="Audit log"
      description="Every change made through meshplane, newest first: who, what, when, and the resource before and after. The log is hash-chained, so any later edit shows."
      actions={
        <button type="button" className="button primary nowrap" disabled={verify.isPending} onClick={() => verify.mutate()}>
          {verify.isPending ? "Verifying the chain…" : "Verify chain"}
        </button>
      }
    >
      <VerifyResult v={verified} />
      <Filters initial={f} />
      <ErrorBanner error={err} title="The audit log could not be loaded" />
      {q.isPending && <Loading what="Loading audit events" />}
      {q.data && (
        <p className="muted" role="status">
          {local
            ? `${plural(events.length, "event")} match, of the ${loaded.length} newest loaded${more ? "; load older events to search further back" : ""}.`
            : `${plural(events.length, "event")} loaded${more ? "; older events can be loaded below" : ""}.`}
        </p>
      )}
      {q.data && events.length === 0 && (
        <EmptyState title="No audit event matches these filters" action={{ to: "/audit", label: "Clear all filters" }}>
          Filters on actor, domain, resource type and resource match exactly; action matches any part of the name.
        </EmptyState>
      )}
      {events.length > 0 && <EventTable events={events} />}
      {more && (
        <button type="button" className="button" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          {q.isFetchingNextPage ? "Loading…" : "Load older events"}
        </button>
      )}
    </Page>
  );
}

function Filters({ initial }: { initial: AuditFilters }) {
  const [f, setF] = useState<AuditFilters>(initial);
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  const set = (k: keyof AuditFilters) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const formId = useId();
  return (
    <form
      className="card"
      aria-labelledby={formId}
      onSubmit={(e) => {
        e.preventDefault();
        const next: Record<string, string | undefined> = {};
        for (const k of FILTER_KEYS) next[k] = f[k].trim() || undefined;
        setQuery(next);
      }}
    >
      <h2 id={formId} className="sr-only">
        Filters
      </h2>
      <div className="filter-grid">
        <Field label="Actor" help="Exact name of who made the change, e.g. olivia or meshplane.">
          {(id, d) => <input id={id} aria-describedby={d} value={f.actor} onChange={set("actor")} autoComplete="off" />}
        </Field>
        <Field label="Action" help="Any part of the action, e.g. Publish or access.">
          {(id, d) => <input id={id} aria-describedby={d} value={f.action} onChange={set("action")} autoComplete="off" />}
        </Field>
        <Field label="Domain" help="Changes in one domain.">
          {(id, d) => (
            <select id={id} aria-describedby={d} value={f.domain} onChange={set("domain")}>
              <option value="">Any domain</option>
              {domains.data?.domains.map((x) => (
                <option key={x.name} value={x.name}>
                  {x.name}
                </option>
              ))}
              {f.domain && domains.data && !domains.data.domains.some((x) => x.name === f.domain) && <option value={f.domain}>{f.domain}</option>}
            </select>
          )}
        </Field>
        <Field label="Resource type" help="What kind of thing changed.">
          {(id, d) => (
            <select id={id} aria-describedby={d} value={f.type} onChange={set("type")}>
              <option value="">Any type</option>
              {RESOURCE_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
              {f.type && !RESOURCE_TYPES.includes(f.type) && <option value={f.type}>{f.type}</option>}
            </select>
          )}
        </Field>
        <Field label="Resource" help="Its exact name, e.g. sales/orders, masking or a request id.">
          {(id, d) => <input id={id} aria-describedby={d} value={f.resource} onChange={set("resource")} autoComplete="off" />}
        </Field>
        <Field label="From" help="Your local time.">
          {(id, d) => <input id={id} aria-describedby={d} type="datetime-local" value={f.since} onChange={set("since")} />}
        </Field>
        <Field label="Until" help="Your local time.">
          {(id, d) => <input id={id} aria-describedby={d} type="datetime-local" value={f.until} onChange={set("until")} />}
        </Field>
      </div>
      <div className="row">
        <button type="submit" className="button primary">
          Apply filters
        </button>
        <button
          type="button"
          className="button ghost"
          onClick={() => {
            const empty = Object.fromEntries(FILTER_KEYS.map((k) => [k, ""])) as unknown as AuditFilters;
            setF(empty);
            setQuery(Object.fromEntries(FILTER_KEYS.map((k) => [k, undefined])));
          }}
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}

function EventTable({ events }: { events: AuditEvent[] }) {
  const [open, setOpen] = useState<Set<bigint>>(new Set());
  const baseId = useId();
  const toggle = (s: bigint) => {
    const next = new Set(open);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    setOpen(next);
  };
  return (
    <div className="table-wrap">
      <table className="audit-table">
        <caption className="sr-only">Audit events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Resource</th>
            <th scope="col">Domain</th>
            <th scope="col">Changes</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const expanded = open.has(e.sequence);
            const detailId = `${baseId}-${e.sequence}`;
            return (
              <Fragment key={String(e.sequence)}>
                <tr className={expanded ? "expanded" : undefined}>
                  <td>{String(e.sequence)}</td>
                  <td className="nowrap">
                    <When date={dateOf(e.time)} />
                    <div className="muted">{exact(dateOf(e.time))}</div>
                  </td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    <span className="muted">{e.resourceType}</span> {e.resource}
                  </td>
                  <td>{e.domain || <span className="muted">—</span>}</td>
                  <td>
                    <button type="button" className="button" aria-expanded={expanded} aria-controls={expanded ? detailId : undefined} onClick={() => toggle(e.sequence)}>
                      {expanded ? "Hide changes" : "Show changes"}
                      <span className="sr-only"> of event {String(e.sequence)}</span>
                    </button>
                  </td>
                </tr>
                {expanded && (
                  <tr className="expanded">
                    <td colSpan={7} id={detailId}>
                      <EventDetail e={e} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function EventDetail({ e }: { e: AuditEvent }) {
  const [all, setAll] = useState(false);
  const allId = useId();
  const fields = diffJSON(e.before, e.after);
  const shown = all ? fields : fields.filter((x) => x.change !== "same");
  const what = !e.before ? "created" : !e.after ? "deleted" : "changed";
  return (
    <div>
      <p>
        {e.resourceType} <strong>{e.resource}</strong> {what}. {plural(fields.filter((x) => x.change !== "same").length, "field")} differ.
      </p>
      <p className="row">
        <span>
          <input id={allId} type="checkbox" checked={all} onChange={(ev) => setAll(ev.target.checked)} /> <label htmlFor={allId}>Show unchanged fields too</label>
        </span>
      </p>
      {shown.length === 0 ? (
        <p className="muted">No field differs.</p>
      ) : (
        <table className="changes">
          <caption className="sr-only">Fields before and after event {String(e.sequence)}</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Change</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((x) => (
              <tr key={x.path} className={x.change}>
                <th scope="row">{x.path}</th>
                <td>
                  <Badge tone={x.change === "added" ? "good" : x.change === "removed" ? "bad" : x.change === "changed" ? "warn" : "neutral"}>{x.change}</Badge>
                </td>
                {x.change === "changed" && x.before !== undefined && x.after !== undefined && (x.before.includes("\n") || x.after.includes("\n")) ? (
                  <td colSpan={2}>
                    <DiffTable lines={diffLines(x.before, x.after)} caption={`${x.path} before and after`} context={2} />
                  </td>
                ) : (
                  <>
                    <td className="val">{x.before ?? <span className="muted">—</span>}</td>
                    <td className="val">{x.after ?? <span className="muted">—</span>}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dl className="kv">
        <dt>Request id</dt>
        <dd>
          <code>{e.requestId || "—"}</code>
        </dd>
        <dt>Hash</dt>
        <dd className="hash">{e.hash}</dd>
        <dt>Previous hash</dt>
        <dd className="hash">{e.previousHash || "— (first event)"}</dd>
      </dl>
    </div>
  );
}

type Verified = { data?: VerifyAuditLogResponse; error?: unknown } | null;

function VerifyResult({ v }: { v: Verified }) {
  if (!v) return null;
  if (v.error || !v.data) return <ErrorBanner error={describeError(v.error)} title="The chain could not be verified" />;
  const r = v.data;
  if (r.ok) {
    return (
      <Notice tone="success">
        <strong>Chain intact.</strong> All {plural(r.eventsChecked, "event")} checked: none was changed or removed after it was written. Head
        hash <code className="hash">{r.headHash || "—"}</code>
      </Notice>
    );
  }
  return (
    <div className="banner error" role="alert">
      <strong>Chain broken at event {String(r.firstBrokenSequence)}.</strong>
      <p>
        Event {String(r.firstBrokenSequence)} does not match the hash chain: it, or the event before it, was changed or deleted after it was
        written. The {plural(r.firstBrokenSequence - 1n, "event")} before it are intact. Treat the log from event{" "}
        {String(r.firstBrokenSequence)} on as untrustworthy and investigate the database.
      </p>
    </div>
  );
}
