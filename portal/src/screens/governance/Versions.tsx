// A module's published versions: who published what and why, a line diff
// against the draft or the version before, and rolling back.
import { useId, useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { skipToken, useQueryClient } from "@tanstack/react-query";
import { PolicyService, type PolicyModule, type RollbackPolicyResponse } from "../../gen/meshplane/v1/policy_pb";
import { describeError, violationsFor } from "../../lib/api";
import { Link, setQuery, useLocation } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, When, dateOf } from "../../lib/ui";
import { DiffTable, plural } from "./common";
import { diffFiles, diffStats } from "./diff";

export function VersionsPanel(props: { module: PolicyModule; draft: Record<string, string>; dirty: boolean }) {
  const name = props.module.name;
  const { query } = useLocation();
  const list = useQuery(PolicyService.method.listPolicyVersions, { name });
  const err = list.error ? describeError(list.error) : null;
  const versions = list.data?.versions ?? [];
  const picked = Number(query.get("v") ?? "") || versions[0]?.number || 0;

  return (
    <div>
      <h2>Published versions</h2>
      <ErrorBanner error={err} title="The versions could not be loaded" />
      {list.isPending && <Loading what="Loading versions" />}
      {list.data && versions.length === 0 && (
        <EmptyState title="Nothing published yet" action={{ to: `/governance/policies/${encodeURIComponent(name)}?tab=publish`, label: "Publish the draft" }}>
          Once you publish the draft it appears here, and you can compare and roll back to it later.
        </EmptyState>
      )}
      {versions.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Versions of {name}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Message</th>
                <th scope="col">Published by</th>
                <th scope="col">When</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.number} aria-current={v.number === picked ? "true" : undefined} className={v.number === picked ? "picked" : undefined}>
                  <td className="nowrap">
                    {v.number}{" "}
                    {v.number === props.module.publishedVersion && <Badge tone="good">in force</Badge>}
                    {v.restoredFrom > 0 && <div className="muted">restores version {v.restoredFrom}</div>}
                  </td>
                  <td>{v.message}</td>
                  <td>{v.publishedBy}</td>
                  <td className="nowrap">
                    <When date={dateOf(v.publishTime)} />
                  </td>
                  <td>
                    {v.number === picked ? (
                      <span className="muted">shown below</span>
                    ) : (
                      <button type="button" className="button" onClick={() => setQuery({ v: String(v.number) })}>
                        Show version {v.number}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {picked > 0 && versions.length > 0 && (
        <VersionDetail key={picked} module={props.module} number={picked} draft={props.draft} dirty={props.dirty} />
      )}
    </div>
  );
}

function VersionDetail(props: { module: PolicyModule; number: number; draft: Record<string, string>; dirty: boolean }) {
  const name = props.module.name;
  const [against, setAgainst] = useState<"draft" | "previous">("draft");
  const ver = useQuery(PolicyService.method.getPolicyVersion, { name, number: props.number });
  const prev = useQuery(
    PolicyService.method.getPolicyVersion,
    against === "previous" && props.number > 1 ? { name, number: props.number - 1 } : skipToken,
  );
  const selectId = useId();
  const err = ver.error ? describeError(ver.error) : prev.error ? describeError(prev.error) : null;
  const files = ver.data?.version?.files;

  let before: Record<string, string> | undefined;
  let after: Record<string, string> | undefined;
  let caption = "";
  if (files && against === "draft") {
    before = files;
    after = props.draft;
    caption = `Version ${props.number} → ${props.dirty ? "your draft, with unsaved edits" : `the draft (version ${props.module.version})`}`;
  } else if (files && against === "previous" && prev.data?.version) {
    before = prev.data.version.files;
    after = files;
    caption = `Version ${props.number - 1} → version ${props.number}`;
  }
  const diffs = before && after ? diffFiles(before, after) : [];
  const changed = diffs.filter((d) => d.status !== "unchanged");

  return (
    <section aria-labelledby={selectId + "-h"} className="card">
      <h3 id={selectId + "-h"}>Version {props.number}</h3>
      {ver.data?.version && (
        <p>
          “{ver.data.version.message}” — published by {ver.data.version.publishedBy} <When date={dateOf(ver.data.version.publishTime)} />.
          Digest <code className="hash">{ver.data.version.digest.slice(0, 16)}…</code>
        </p>
      )}
      <div className="field">
        <label htmlFor={selectId}>Compare version {props.number} with</label>
        <select id={selectId} value={against} onChange={(e) => setAgainst(e.target.value as "draft" | "previous")}>
          <option value="draft">the draft{props.dirty ? " (with your unsaved edits)" : ""}</option>
          {props.number > 1 && <option value="previous">version {props.number - 1}, the one before it</option>}
        </select>
      </div>
      <ErrorBanner error={err} title="The version could not be loaded" />
      {(ver.isPending || (against === "previous" && prev.isPending)) && <Loading what="Loading the files" />}
      {before && after && (
        <>
          <p>
            <strong>{caption}:</strong>{" "}
            {changed.length === 0 ? "identical." : `${plural(changed.length, "file")} differ${changed.length === 1 ? "s" : ""}.`}
          </p>
          {changed.map((d) => {
            const s = diffStats(d.lines);
            return (
              <div key={d.file}>
                <h4>
                  {d.file}{" "}
                  <span className="muted">
                    ({d.status === "added" ? "new file" : d.status === "removed" ? "file removed" : "changed"}: {s.added} added, {s.removed} removed)
                  </span>
                </h4>
                <DiffTable lines={d.lines} caption={`${caption}: ${d.file}`} />
              </div>
            );
          })}
        </>
      )}
      <Rollback module={props.module} number={props.number} />
    </section>
  );
}

function Rollback({ module, number }: { module: PolicyModule; number: number }) {
  const [message, setMessage] = useState("");
  const [done, setDone] = useState<RollbackPolicyResponse | null>(null);
  const qc = useQueryClient();
  const rollback = useMutation(PolicyService.method.rollbackPolicy, {
    onSuccess: (res) => {
      setDone(res);
      setMessage("");
      void qc.invalidateQueries();
    },
  });
  const err = rollback.error ? describeError(rollback.error) : null;
  const msgErrs = violationsFor(err, "message");
  if (done) {
    return (
      <Notice tone="success">
        Version {number} is in force again, published as version {done.version?.number}. The draft was left as it is.{" "}
        {done.plans.length === 0
          ? "No provisioned product's connectors change."
          : `${plural(done.plans.length, "product")} got a plan for its owners to approve:`}
        {done.plans.length > 0 && (
          <ul>
            {done.plans.map((p) => (
              <li key={p.domain + "/" + p.product}>
                {p.domain}/{p.product}: {p.runId ? <Link to={`/runs/${encodeURIComponent(p.runId)}`}>plan {p.runId}</Link> : <>{p.skipped}</>}
              </li>
            ))}
          </ul>
        )}
      </Notice>
    );
  }
  if (number === module.publishedVersion) {
    return <p className="muted">Version {number} is the version in force.</p>;
  }
  return (
    <form
      className="confirm"
      onSubmit={(e) => {
        e.preventDefault();
        rollback.mutate({ name: module.name, toVersion: number, message: message.trim() });
      }}
    >
      <strong>Roll back to version {number}</strong>
      <p>
        Publishes version {number}'s files again as a new version, at once. The draft stays as it is. Products whose connectors change get a
        plan that their owners must approve.
      </p>
      <Field label="Why roll back?" help="Required. Recorded with the new version and in the audit log." errors={msgErrs}>
        {(id, d) => <input id={id} aria-describedby={d} value={message} onChange={(e) => setMessage(e.target.value)} required />}
      </Field>
      <ErrorBanner error={err && (msgErrs.length === 0 || err.violations.length > msgErrs.length) ? err : null} title="The rollback did not happen" />
      <div>
        <button type="submit" className="button danger" disabled={!message.trim() || rollback.isPending}>
          {rollback.isPending ? "Rolling back…" : `Roll back to version ${number}`}
        </button>
      </div>
    </form>
  );
}
