// A provisioning run: where it is (queued → planning → planned → applying →
// applied), the plan's changes grouped by what they mean for the product,
// approval of exactly this plan, and terraform's log as it happens.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { PolicyService } from "../gen/meshplane/v1/policy_pb";
import { ProvisioningService, RunKind, RunState, type ResourceChange, type Run } from "../gen/meshplane/v1/provisioning_pb";
import { describeError, provisioning, type ApiError } from "../lib/api";
import { Link, navigate } from "../lib/router";
import { Badge, ErrorBanner, Loading, Notice, Page, TypedConfirm, When, dateOf } from "../lib/ui";
import {
  actionTone,
  groupChanges,
  isFinished,
  isSettled,
  maskingSummary,
  phases,
  showValue,
  stateLabel,
  type ChangeGroup,
  type ChangeRow,
} from "./run/model";
import { logLines, useRunWatch, type Conn } from "./run/useRunWatch";
import "./Run.css";


const triggerWords: Record<string, string> = {
  user: "a person asked for it",
  policy: "a policy change",
  grant: "a consumer was granted access",
  revoke: "a consumer's access was revoked",
  expiry: "a consumer's access expired",
  recovery: "an earlier run was interrupted; this plan shows the data plane as it is",
  promotion: "a version applied in another environment was promoted",
};

/** stalePolicy names the modules whose published version differs from the one the plan was made under. */
export function stalePolicy(planned: string, current: { name: string; publishedVersion: number }[]): string[] {
  const out: string[] = [];
  for (const part of planned.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, v] = part.split("@");
    const now = current.find((m) => m.name === name);
    if (now && String(now.publishedVersion) !== v) out.push(`${name} is at version ${now.publishedVersion}, the plan used ${v}`);
  }
  return out;
}

/** rank orders run states by progress; every way of ending ranks last. */
export function rank(s: RunState): number {
  return isFinished(s) ? 10 : s;
}

export function RunPage({ id }: { id: string }) {
  // Another run is another page: nothing carries over.
  return <RunScreen key={id} id={id} />;
}

function RunScreen({ id }: { id: string }) {
  const qc = useQueryClient();
  const [liveState, setLiveState] = useState<RunState | undefined>(undefined);
  const [polling, setPolling] = useState(false);
  // While the run is going, the stored run is also read every few seconds: the
  // stream carries lines and most state changes, but a stream can stall.
  const runQuery = useQuery(ProvisioningService.method.getRun, { id }, { refetchInterval: polling ? 4000 : false });
  const run = runQuery.data?.run;
  const state = liveState ?? run?.state ?? RunState.UNSPECIFIED;

  // A fetched run is authoritative when it is at least as far along as what the stream said.
  useEffect(() => {
    const fetched = runQuery.data?.run?.state;
    if (fetched !== undefined) setLiveState((live) => (live === undefined || rank(fetched) >= rank(live) ? undefined : live));
  }, [runQuery.dataUpdatedAt, runQuery.data]);

  const active = !!run && !isSettled(state);
  useEffect(() => setPolling(active), [active]);
  const lastState = useRef<RunState | undefined>(undefined);
  const watch = useRunWatch(id, active, {
    onState: (s) => {
      setLiveState(s);
      if (lastState.current !== undefined && lastState.current !== s) void runQuery.refetch();
      lastState.current = s;
    },
    onSettled: () => void runQuery.refetch(),
  });

  // While not streaming, the stored log is the log.
  const { setLines } = watch;
  useEffect(() => {
    if (run && !active) setLines(logLines(run.log));
  }, [run, active, setLines]);

  if (runQuery.isPending) {
    return (
      <Page title="Provisioning run">
        <Loading what="Loading the run" />
      </Page>
    );
  }
  if (runQuery.error || !run) {
    return (
      <Page title="Provisioning run">
        <ErrorBanner error={runQuery.error ? describeError(runQuery.error) : null} title="Could not load the run" />
        <div className="empty">
          <p className="empty-title">This run cannot be shown</p>
          <p className="muted">It does not exist, or you may not see its product. Runs are listed on each product's page.</p>
          <Link className="button primary" to="/">
            Go to the catalog
          </Link>
        </div>
      </Page>
    );
  }
  return (
    <RunView
      run={run}
      state={state}
      conn={watch.conn}
      lines={watch.log.lines}
      onReconnect={watch.reconnect}
      onChanged={(r) => {
        if (r) setLiveState(r.state);
        void runQuery.refetch();
        void qc.invalidateQueries();
      }}
    />
  );
}

function RunView(props: { run: Run; state: RunState; conn: Conn; lines: string[]; onReconnect(): void; onChanged(r?: Run): void }) {
  const { run, state } = props;
  const productPath = `/products/${run.domain}/${run.product}`;
  const destroy = run.kind === RunKind.DESTROY;
  const product = useQuery(CatalogService.method.getDataProduct, { domain: run.domain, name: run.product }, { retry: false });
  const modules = useQuery(PolicyService.method.listPolicyModules, {}, { retry: false, enabled: state === RunState.PLANNED });
  const [action, setAction] = useState<{ busy: "" | "approve" | "cancel" | "plan"; error: ApiError | null }>({ busy: "", error: null });
  const [confirmCancel, setConfirmCancel] = useState(false);

  const currentVersion = product.data?.dataProduct?.version;
  const staleProduct = state === RunState.PLANNED && currentVersion !== undefined && currentVersion > run.productVersion;
  const policyDrift = state === RunState.PLANNED && modules.data && run.policyVersion ? stalePolicy(run.policyVersion, modules.data.modules) : [];
  const stale = staleProduct || policyDrift.length > 0;
  // Approval is offered once the product's current version is known, so a stale plan never looks approvable.
  const known = !product.isPending && (!modules.isPending || modules.isError || !modules.isEnabled);
  const groups = useMemo(() => groupChanges(run.summary?.resources ?? []), [run.summary]);
  const steps = phases(state, {
    approved: !!run.approveTime,
    planned: run.hasChanges || (run.summary?.resources.length ?? 0) > 0 || /^meshplane: plan saved/m.test(run.log),
    started: !!run.startTime,
  });
  const summary = run.summary;
  const hasPlan =
    !!summary && (summary.resources.length > 0 || state === RunState.PLANNED || state === RunState.APPLYING || state === RunState.APPLIED);

  const approve = async (confirmDestructive: boolean) => {
    setAction({ busy: "approve", error: null });
    try {
      const r = await provisioning.approveRun({ id: run.id, confirmDestructive });
      setAction({ busy: "", error: null });
      props.onChanged(r.run);
    } catch (e) {
      setAction({ busy: "", error: describeError(e) });
      props.onChanged();
    }
  };
  const cancel = async () => {
    setAction({ busy: "cancel", error: null });
    setConfirmCancel(false);
    try {
      const r = await provisioning.cancelRun({ id: run.id });
      setAction({ busy: "", error: null });
      props.onChanged(r.run);
    } catch (e) {
      setAction({ busy: "", error: describeError(e) });
      props.onChanged();
    }
  };
  const planAgain = async () => {
    setAction({ busy: "plan", error: null });
    try {
      const r = destroy
        ? await provisioning.decommission({ domain: run.domain, product: run.product })
        : await provisioning.plan({ domain: run.domain, product: run.product });
      setAction({ busy: "", error: null });
      props.onChanged();
      if (r.run) navigate(`/runs/${r.run.id}`);
    } catch (e) {
      setAction({ busy: "", error: describeError(e) });
    }
  };

  const title = `${destroy ? "Decommission plan" : "Plan"} for ${run.domain}/${run.product}`;
  return (
    <Page
      title={title}
      description={
        <>
          Run <code>{run.id}</code>, {stateLabel(state)}.
        </>
      }
      actions={
        <Link className="button ghost" to={productPath}>
          Product page
        </Link>
      }
    >
      <nav aria-label="Run progress">
        <ol className="steps run-steps">
          {steps.map((p) => (
            <li
              key={p.id}
              aria-current={p.status === "current" ? "step" : undefined}
              className={`${p.status}${p.tone ? " tone-" + p.tone : ""}`}
            >
              {p.status === "done" && <span aria-hidden="true">✓ </span>}
              {p.label}
              <span className="sr-only">
                {p.status === "done" ? " (done)" : p.status === "upcoming" ? " (not yet)" : p.status === "stopped" ? " (stopped here)" : ""}
              </span>
            </li>
          ))}
        </ol>
      </nav>

      {!(stale && state === RunState.PLANNED) && <StatusNotice run={run} state={state} productPath={productPath} destroy={destroy} />}

      {stale && (
        <div className="banner warning" role="alert">
          <strong>This plan is out of date and cannot be approved.</strong>
          <ul>
            {staleProduct && (
              <li>
                The product changed since the plan was made (planned from version {run.productVersion.toString()}, now version{" "}
                {currentVersion?.toString()}).
              </li>
            )}
            {policyDrift.map((d) => (
              <li key={d}>A different policy is in force: {d}.</li>
            ))}
          </ul>
          <button type="button" className="button primary" disabled={action.busy !== ""} onClick={() => void planAgain()}>
            {action.busy === "plan" ? "Planning…" : "Plan again"}
          </button>
        </div>
      )}

      <section className="card" aria-labelledby="run-about">
        <h2 id="run-about">About this run</h2>
        <dl className="facts">
          <div>
            <dt>Why</dt>
            <dd>
              {triggerWords[run.trigger] ?? (run.trigger || "unknown")}
              {run.triggerDetail && <span className="muted"> — {run.triggerDetail}</span>}
            </dd>
          </div>
          <div>
            <dt>Environment</dt>
            <dd>{run.environment || <span className="muted">the default one</span>}</dd>
          </div>
          {run.approvers.length > 0 && (
            <div>
              <dt>Approvals the environment requires</dt>
              <dd>
                <ul className="plain">
                  {run.approvers.map((a) => {
                    const given = run.approvals.find((x) => x.role === a.role);
                    return (
                      <li key={a.role}>
                        a {a.role}
                        {a.reason && <span className="muted"> ({a.reason})</span>}:{" "}
                        {given ? <>approved by {given.by}</> : <span className="muted">waiting</span>}
                      </li>
                    );
                  })}
                </ul>
              </dd>
            </div>
          )}
          <div>
            <dt>Requested by</dt>
            <dd>
              {run.createdBy || "meshplane"}, <When date={dateOf(run.createTime)} />
            </dd>
          </div>
          <div>
            <dt>Approved by</dt>
            <dd>
              {run.approvedBy ? (
                <>
                  {run.approvedBy}, <When date={dateOf(run.approveTime)} />
                </>
              ) : run.autoApply ? (
                "meshplane (applied on its own)"
              ) : (
                <span className="muted">not yet</span>
              )}
              {run.autoApplyNote && <span className="muted"> — {run.autoApplyNote}</span>}
            </dd>
          </div>
          <div>
            <dt>Policy in force for the plan</dt>
            <dd>{run.policyVersion ? <code>{run.policyVersion}</code> : <span className="muted">not yet known</span>}</dd>
          </div>
          <div>
            <dt>Product version planned</dt>
            <dd>
              version {run.productVersion.toString()}
              {currentVersion !== undefined && (
                <span className="muted">
                  {currentVersion > run.productVersion ? ` (the product is now at version ${currentVersion})` : " (the current version)"}
                </span>
              )}
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>{run.finishTime ? <When date={dateOf(run.finishTime)} /> : <span className="muted">not yet</span>}</dd>
          </div>
        </dl>
      </section>

      <section className="card" aria-labelledby="run-changes">
        <h2 id="run-changes">Planned changes</h2>
        {!hasPlan ? (
          state === RunState.QUEUED || state === RunState.PLANNING ? (
            <p className="muted">Terraform is preparing the plan; the changes appear here when it is ready (usually in a few seconds).</p>
          ) : (
            <p className="muted">This run has no plan to show.</p>
          )
        ) : !run.hasChanges ? (
          <Notice tone="success">Nothing to change: the infrastructure already matches the product.</Notice>
        ) : (
          <>
            <p>
              {summary!.create} to create, {summary!.update} to update, {summary!.delete} to delete, {summary!.replace} to replace.
            </p>
            {run.destructive && (
              <div className="banner warning">
                <strong>This plan deletes data.</strong>
                <ul>
                  {summary!.reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              </div>
            )}
            {groups.map((g) => (
              <ChangeTable key={g.concept} group={g} />
            ))}
            <MaskingNote run={run} groups={groups} />
          </>
        )}
      </section>

      {(state === RunState.PLANNED || !isFinished(state)) && (
        <section className="card" aria-labelledby="run-decision">
          <h2 id="run-decision">Decision</h2>
          <ErrorBanner error={action.error} title="The server refused this" />
          {action.error && ["STALE_PLAN", "STALE_POLICY"].includes(action.error.reason) && (
            <button type="button" className="button primary" disabled={action.busy !== ""} onClick={() => void planAgain()}>
              Plan again
            </button>
          )}
          {state === RunState.PLANNED && !stale && known && (
            <div className="approve">
              <p>
                Approving applies exactly this plan{run.policyVersion ? `, made under policy ${run.policyVersion}` : ""}. If the product or
                the policy changes first, the plan must be made again.
              </p>
              {run.destructive ? (
                <TypedConfirm word={run.product} label="Approve and apply" busy={action.busy !== ""} onConfirm={() => void approve(true)}>
                  <p>
                    <strong>This plan deletes data</strong> ({summary?.reasons.join("; ")}). To approve it anyway, type the product's name.
                  </p>
                </TypedConfirm>
              ) : (
                <button type="button" className="button primary" disabled={action.busy !== ""} onClick={() => void approve(false)}>
                  {action.busy === "approve" ? "Approving…" : "Approve and apply"}
                </button>
              )}
            </div>
          )}
          {state === RunState.APPLYING && <p>Terraform is applying the approved plan; follow it in the log below.</p>}
          {!confirmCancel ? (
            <button type="button" className="button ghost cancel" disabled={action.busy !== ""} onClick={() => setConfirmCancel(true)}>
              {action.busy === "cancel" ? "Cancelling…" : "Cancel run"}
            </button>
          ) : (
            <div className="banner warning" role="alert">
              <p>
                {state === RunState.APPLYING
                  ? "Cancel while applying? Terraform is interrupted: what it already changed stays changed, and the next plan picks up from there."
                  : "Cancel this run? Nothing has been changed; you can plan again at any time."}
              </p>
              <div className="row">
                <button type="button" className="button danger" onClick={() => void cancel()}>
                  Yes, cancel the run
                </button>
                <button type="button" className="button" onClick={() => setConfirmCancel(false)}>
                  Keep the run
                </button>
              </div>
            </div>
          )}
        </section>
      )}

      {isFinished(state) && state !== RunState.APPLIED && (
        <div className="row">
          <button type="button" className="button" disabled={action.busy !== ""} onClick={() => void planAgain()}>
            {action.busy === "plan" ? "Planning…" : destroy ? "Plan the decommission again" : "Plan again"}
          </button>
          <ErrorBanner error={action.error} title="The server refused this" />
        </div>
      )}

      <section className="card" aria-labelledby="run-log">
        <h2 id="run-log">Log</h2>
        <ConnStatus conn={props.conn} state={state} onReconnect={props.onReconnect} />
        <LogView lines={props.lines} />
      </section>
    </Page>
  );
}

function StatusNotice({ run, state, productPath, destroy }: { run: Run; state: RunState; productPath: string; destroy: boolean }) {
  switch (state) {
    case RunState.APPLIED:
      return (
        <Notice tone="success">
          <strong>Applied.</strong>{" "}
          {destroy ? "The product's infrastructure is gone and the product is retired." : "The product's infrastructure matches the plan."}{" "}
          <Link to={productPath}>
            Open {run.domain}/{run.product}
          </Link>
        </Notice>
      );
    case RunState.FAILED:
      return (
        <div className="banner error" role="alert">
          <strong>The run failed.</strong>
          <p>{run.error || "Terraform stopped with an error; the log below says why."}</p>
        </div>
      );
    case RunState.CANCELLED:
      return <Notice tone="warning">This run was cancelled{run.error ? `: ${run.error}` : "."}</Notice>;
    case RunState.INTERRUPTED:
      return (
        <Notice tone="warning">
          This run was interrupted because the server stopped during it{run.error ? ` (${run.error})` : ""}. Plan again to continue.
        </Notice>
      );
    case RunState.PLANNED:
      return run.hasChanges ? <Notice>The plan is ready. Review the changes, then approve or cancel it below.</Notice> : null;
    default:
      return null;
  }
}

/** MaskingNote says how a new or replaced connector masks, when no setting of an existing one changes. */
function MaskingNote({ run, groups }: { run: Run; groups: ChangeGroup[] }) {
  if (groups.some((g) => g.concept === "masking")) return null;
  const created = (run.summary?.resources ?? []).some(
    (r) => r.type === "kafka-connect_connector" && (r.action === "create" || r.action === "replace"),
  );
  const m = maskingSummary(run.log);
  if (!created || !m) return null;
  return (
    <section className="change-group" aria-labelledby="g-masking-note">
      <h3 id="g-masking-note">Masking</h3>
      <p>
        {m.fields === 0
          ? "The new connectors publish every declared field as it is: no field needs masking."
          : `The new connectors hash, mask, truncate or drop ${m.fields} field${m.fields === 1 ? "" : "s"} before they reach Kafka, as policy ${m.policy} decides.`}
      </p>
    </section>
  );
}

function ChangeTable({ group }: { group: ChangeGroup }) {
  return (
    <section className="change-group" aria-labelledby={`g-${group.concept}`}>
      <h3 id={`g-${group.concept}`}>
        {group.title} <span className="muted count">({group.rows.length})</span>
      </h3>
      <p className="muted">{group.description}</p>
      <table>
        <thead>
          <tr>
            <th scope="col" className="action-col">
              Action
            </th>
            <th scope="col">Resource</th>
            <th scope="col">What changes</th>
          </tr>
        </thead>
        <tbody>
          {group.rows.map((r) => (
            <ChangeRowView key={r.key} row={r} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ChangeRowView({ row }: { row: ChangeRow }) {
  const c: ResourceChange = row.change;
  return (
    <tr className={c.reason ? "destructive" : undefined}>
      <td>
        <Badge tone={actionTone(c.action)}>{c.action}</Badge>
      </td>
      <td>
        <div>{row.label}</div>
        <details className="address">
          <summary>Terraform address</summary>
          <code>{c.address}</code>
        </details>
      </td>
      <td>
        {c.reason && (
          <p className="reason">
            <strong>Deletes data:</strong> {c.reason}
          </p>
        )}
        {row.attributes.length > 0 ? (
          <table className="attrs">
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {row.attributes.map((a) => (
                <tr key={a.path}>
                  <th scope="row">
                    <code>{a.path}</code>
                  </th>
                  <td>
                    <code>{showValue(a.before, a.path)}</code>
                  </td>
                  <td>
                    <code>{showValue(a.after, a.path)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : c.action === "create" ? (
          <span className="muted">New</span>
        ) : c.action === "delete" ? (
          <span className="muted">Removed</span>
        ) : c.action === "replace" ? (
          <span className="muted">Destroyed and created again</span>
        ) : c.action === "import" ? (
          <span className="muted">Already exists in Kafka (left by an interrupted apply): taken under management as it is</span>
        ) : null}
        {c.secretRefs.length > 0 && (
          <ul className="secret-refs">
            {c.secretRefs.map((s) => (
              <li key={s.setting}>
                Reads the secret <code>{s.ref}</code> for <code>{s.setting}</code>; the connector resolves it, meshplane never sees its value.
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

function ConnStatus({ conn, state, onReconnect }: { conn: Conn; state: RunState; onReconnect(): void }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (conn.status !== "retrying") return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [conn.status]);
  let text: string;
  switch (conn.status) {
    case "connecting":
      text = "Connecting to the live log…";
      break;
    case "live":
      text = `Live: following the run as it ${state === RunState.APPLYING ? "applies" : "plans"}.`;
      break;
    case "retrying": {
      const s = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
      text = `The live log was interrupted (${conn.message}). Reconnecting in ${s} s…`;
      break;
    }
    case "error":
      text = `The live log is unavailable: ${conn.message}`;
      break;
    default:
      text = isFinished(state) ? "The run has finished; this is its full log." : state === RunState.PLANNED ? "The plan is done; the log continues when the plan is approved." : "";
  }
  return (
    <div className="row conn">
      <p role="status" className="muted">
        {text}
      </p>
      {(conn.status === "retrying" || conn.status === "error") && (
        <button type="button" className="button small" onClick={onReconnect}>
          Reconnect now
        </button>
      )}
    </div>
  );
}

function LogView({ lines }: { lines: string[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <div
      ref={ref}
      className="log"
      role="log"
      aria-live="polite"
      aria-label="Terraform log"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {lines.length === 0 ? <div className="muted-log">No output yet.</div> : lines.map((l, i) => <div key={i}>{l || "\u00a0"}</div>)}
    </div>
  );
}
