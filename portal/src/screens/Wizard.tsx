// Register a data product, or edit one: a step-by-step form the server judges
// as it is typed (validation and the admission policy, nothing written), a
// review of the whole product with its masking, then "Save and plan", which
// stores the product and queues the Terraform plan a reviewer approves.
import { useCallback, useEffect, useMemo, useRef, useState, type SyntheticEvent } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, Lifecycle, type DataProduct } from "../gen/meshplane/v1/catalog_pb";
import { catalog, describeError, provisioning, type ApiError, type Violation } from "../lib/api";
import { Link, navigate, useLocation } from "../lib/router";
import { useSession } from "../lib/session";
import { ErrorBanner, Loading, Notice, Page, relative } from "../lib/ui";
import {
  discardDraft,
  draftFromProduct,
  emptyDraft,
  loadDraft,
  saveDraft,
  specFromDraft,
  storageKey,
  type Draft,
} from "./wizard/draft";
import { dryRun, evaluateDraft, draftEvaluationSupported, type DraftEvaluation, type Target } from "./wizard/dryrun";
import { ProblemsContext, type Problems } from "./wizard/form";
import { isStep, steps, stepOf, unpinnedFor, type StepId } from "./wizard/paths";
import { PortsStep } from "./wizard/ports";
import { diffDrafts, ReviewStep, type Verdict } from "./wizard/review";
import { BasicsStep, SinksStep, SourceStep, TablesStep } from "./wizard/steps";
import "./Wizard.css";

export function Wizard(props: { domain?: string; name?: string }) {
  // A different product (or new versus edit) is a different form.
  return <WizardScreen key={props.domain && props.name ? `${props.domain}/${props.name}` : "new"} {...props} />;
}

function WizardScreen(props: { domain?: string; name?: string }) {
  const { principal } = useSession();
  const edit = props.domain && props.name ? { domain: props.domain, name: props.name } : undefined;
  const product = useQuery(CatalogService.method.getDataProduct, { domain: edit?.domain ?? "", name: edit?.name ?? "" }, { enabled: !!edit });
  const key = storageKey(principal?.name ?? "", edit);
  if (!edit) {
    return <WizardForm storeKey={key} base={emptyDraft(principal?.domain ?? "", principal?.name ?? "")} />;
  }
  const title = `Edit ${edit.domain}/${edit.name}`;
  if (product.isPending) {
    return (
      <Page title={title}>
        <Loading what="Loading the product" />
      </Page>
    );
  }
  if (product.error || !product.data.dataProduct) {
    const err = product.error ? describeError(product.error) : null;
    return (
      <Page title={title}>
        <ErrorBanner error={err} title="Could not load the product" />
        <div className="empty">
          <p className="empty-title">There is nothing to edit here</p>
          <p className="muted">The product does not exist, or you may not see it.</p>
          <Link className="button primary" to="/">
            Go to the catalog
          </Link>
        </div>
      </Page>
    );
  }
  const p = product.data.dataProduct;
  if (p.lifecycle === Lifecycle.RETIRED) {
    return (
      <Page title={title}>
        <Notice tone="warning">
          This product is retired: it is read-only and has no infrastructure left.{" "}
          <Link to={`/products/${p.domain}/${p.name}`}>Open the product</Link>.
        </Notice>
      </Page>
    );
  }
  return <WizardForm storeKey={key} base={draftFromProduct(p)} edit={edit} stored={p} />;
}

/** normalizeError marks admission-policy denials as such and pins a taken name to the name field. */
export function normalizeError(err: ApiError | null): ApiError | null {
  if (!err) return null;
  if (err.reason === "POLICY_DENIED") {
    return { ...err, violations: err.violations.map((v) => ({ ...v, message: `Admission policy: ${v.message}` })) };
  }
  if (err.code === "AlreadyExists" && err.violations.length === 0) {
    return { ...err, violations: [{ field: "name", message: "a product with this name already exists in this domain: choose another name" }] };
  }
  return err;
}

/** isShown says whether a violation is shown now: its step was revealed, or the person visited its input. */
export function isShown(v: Violation, revealed: Set<StepId>, touched: Set<string>): boolean {
  if (revealed.has(stepOf(v.field))) return true;
  for (const t of touched) {
    if (t === v.field) return true;
    if (t.startsWith(v.field) && /^[.[#]/.test(t.slice(v.field.length))) return true;
    if (v.field.startsWith(t) && /^[.[]/.test(v.field.slice(t.length))) return true;
  }
  return false;
}

type SavePhase = { phase: "idle" } | { phase: "saving" } | { phase: "planning" } | { phase: "failed"; error: ApiError; saved: boolean };

function WizardForm(props: { storeKey: string; base: Draft; edit?: { domain: string; name: string }; stored?: DataProduct }) {
  const { storeKey, edit } = props;
  const qc = useQueryClient();
  const { path, query } = useLocation();
  const [initial] = useState(() => {
    const s = loadDraft(storeKey);
    return s ? { draft: s.draft, restoredAt: s.savedAt as string | null } : { draft: props.base, restoredAt: null };
  });
  const [draft, setDraft] = useState<Draft>(initial.draft);
  const [baseline, setBaseline] = useState(() => JSON.stringify(props.base));
  const [restoredAt, setRestoredAt] = useState<string | null>(initial.restoredAt);
  const [revealed, setRevealed] = useState<Set<StepId>>(() => new Set(edit || initial.restoredAt ? steps.map((s) => s.id) : []));
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [check, setCheck] = useState<{ by: "server" | "browser" | "none"; error: ApiError | null; for: string }>({ by: "none", error: null, for: "" });
  const [evaluation, setEvaluation] = useState<{ state: "unsupported" | "loading" | "ready" | "error"; value: DraftEvaluation | null }>({
    state: draftEvaluationSupported() ? "loading" : "unsupported",
    value: null,
  });
  const [save, setSave] = useState<SavePhase>({ phase: "idle" });
  const [saved, setSaved] = useState<{ domain: string; name: string } | null>(null);
  const [conflict, setConflict] = useState<{ latest: DataProduct | null; loading: boolean; error: ApiError | null } | null>(null);
  const [confirmDiscard, setConfirmDiscard] = useState(false);

  const step: StepId = isStep(query.get("step")) ? (query.get("step") as StepId) : "basics";
  const stepIndex = steps.findIndex((s) => s.id === step);
  const json = useMemo(() => JSON.stringify(draft), [draft]);
  const dirty = json !== baseline;
  const target: Target = useMemo(() => (edit ? { edit } : saved ? { edit: saved } : {}), [edit, saved]);
  const checking = check.for !== json;

  const update = useCallback((fn: (d: Draft) => void) => {
    setDraft((d) => {
      const n = structuredClone(d);
      fn(n);
      return n;
    });
  }, []);

  // A refused save is history once the draft changes: the live check takes over.
  const failedFor = useRef("");
  useEffect(() => {
    if (save.phase === "failed" && !save.saved) {
      if (!failedFor.current) failedFor.current = json;
      else if (failedFor.current !== json) {
        failedFor.current = "";
        setSave({ phase: "idle" });
      }
    }
  }, [json, save]);

  // Keep the draft across reloads (never a secret: only references).
  useEffect(() => {
    const t = setTimeout(() => (dirty ? saveDraft(storeKey, draft) : discardDraft(storeKey)), 250);
    return () => clearTimeout(t);
  }, [json, dirty, storeKey, draft]);

  // The live check: the server judges the draft ~400 ms after the last change.
  useEffect(() => {
    const ac = new AbortController();
    const forJson = json;
    const t = setTimeout(() => {
      dryRun(JSON.parse(forJson) as Draft, target, ac.signal)
        .then((r) => {
          if (ac.signal.aborted) return;
          const error = normalizeError(r.error);
          setCheck({ by: r.by, error, for: forJson });
          if (error?.code === "Aborted" && error.reason === "VERSION_CONFLICT") setConflict((c) => c ?? { latest: null, loading: false, error: null });
        })
        .catch(() => {});
    }, 400);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [json, target]);

  // On the review step, ask the policy how it would mask the draft.
  useEffect(() => {
    if (step !== "review" || !draftEvaluationSupported()) return;
    const ac = new AbortController();
    setEvaluation((e) => ({ ...e, state: "loading" }));
    const t = setTimeout(() => {
      evaluateDraft(JSON.parse(json) as Draft, ac.signal)
        .then((value) => !ac.signal.aborted && setEvaluation({ state: value ? "ready" : "unsupported", value }))
        .catch(() => !ac.signal.aborted && setEvaluation({ state: "error", value: null }));
    }, 400);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [json, step]);

  // Move focus to the new step's heading, so keyboard and screen reader users start there.
  const headingRef = useRef<HTMLHeadingElement>(null);
  const shownStep = useRef(step);
  useEffect(() => {
    if (shownStep.current === step) return;
    shownStep.current = step;
    headingRef.current?.focus();
  }, [step]);

  const goTo = (next: StepId) => {
    setRevealed((r) => new Set([...r, step, ...(next === "review" ? steps.map((s) => s.id) : [])]));
    const q = new URLSearchParams(window.location.search);
    q.set("step", next);
    navigate(`${path}?${q.toString()}`);
  };

  const visibleError: ApiError | null = useMemo(() => {
    const e = check.error;
    if (!e) return null;
    return { ...e, violations: e.violations.filter((v) => isShown(v, revealed, touched)) };
  }, [check.error, revealed, touched]);

  const problems: Problems = useMemo(
    () => ({
      at: (p) =>
        (visibleError?.violations ?? [])
          .filter((v) => v.field === p || v.field.startsWith(p + ".") || v.field.startsWith(p + "["))
          .map((v) => v.message),
      exact: (p) => (visibleError?.violations ?? []).filter((v) => v.field === p).map((v) => v.message),
    }),
    [visibleError],
  );

  const counts = useMemo(() => {
    const c: Record<StepId, number> = { basics: 0, source: 0, tables: 0, ports: 0, sinks: 0, review: 0 };
    for (const v of visibleError?.violations ?? []) c[stepOf(v.field)] += 1;
    return c;
  }, [visibleError]);

  // An input's problems show once the person has changed it (or left its step): a fresh form is not a wall of errors.
  const onEdit = (e: SyntheticEvent<HTMLDivElement>) => {
    const p = (e.target as HTMLElement).dataset?.path;
    if (p && !touched.has(p)) setTouched((t) => new Set([...t, p]));
  };

  const productName = (saved?.name ?? edit?.name ?? draft.name).trim();
  const productDomain = saved?.domain ?? edit?.domain ?? draft.domain;

  const saveAndPlan = async () => {
    setRevealed(new Set(steps.map((s) => s.id)));
    setSave({ phase: "saving" });
    let stored = false;
    try {
      const spec = specFromDraft(draft);
      const t = edit ?? saved;
      let version: bigint;
      if (t) {
        const r = await catalog.updateDataProduct({ domain: t.domain, name: t.name, spec, version: BigInt(draft.version || "0") });
        version = r.dataProduct?.version ?? 0n;
      } else {
        const r = await catalog.createDataProduct({ domain: draft.domain, name: draft.name.trim(), spec });
        version = r.dataProduct?.version ?? 0n;
        setSaved({ domain: draft.domain, name: draft.name.trim() });
      }
      stored = true;
      const next = { ...draft, version: version.toString() };
      setDraft(next);
      setBaseline(JSON.stringify(next));
      discardDraft(storeKey);
      setSave({ phase: "planning" });
      const res = await provisioning.plan({ domain: t?.domain ?? draft.domain, product: t?.name ?? draft.name.trim() });
      await qc.invalidateQueries();
      if (res.run) navigate(`/runs/${res.run.id}`);
    } catch (e) {
      const error = normalizeError(describeError(e));
      if (error && !stored) {
        if (error.code === "Aborted" && error.reason === "VERSION_CONFLICT") setConflict({ latest: null, loading: false, error: null });
        else if (error.violations.length > 0) setCheck({ by: "server", error, for: json });
      }
      setSave({ phase: "failed", error: error!, saved: stored });
      if (stored) void qc.invalidateQueries();
    }
  };

  const planAgain = async () => {
    const t = edit ?? saved;
    if (!t) return;
    setSave({ phase: "planning" });
    try {
      const res = await provisioning.plan({ domain: t.domain, product: t.name });
      await qc.invalidateQueries();
      if (res.run) navigate(`/runs/${res.run.id}`);
    } catch (e) {
      setSave({ phase: "failed", error: describeError(e), saved: true });
    }
  };

  const loadLatest = async (keepMine: boolean) => {
    const t = edit ?? saved;
    if (!t) return;
    setConflict((c) => ({ latest: c?.latest ?? null, loading: true, error: null }));
    try {
      const r = await catalog.getDataProduct({ domain: t.domain, name: t.name });
      const latest = r.dataProduct!;
      if (keepMine) {
        update((d) => {
          d.version = latest.version.toString();
        });
      } else {
        const fresh = draftFromProduct(latest);
        setDraft(fresh);
        setBaseline(JSON.stringify(fresh));
        discardDraft(storeKey);
        setRestoredAt(null);
      }
      setConflict(null);
      setSave({ phase: "idle" });
      void qc.invalidateQueries();
    } catch (e) {
      setConflict({ latest: null, loading: false, error: describeError(e) });
    }
  };

  const discard = () => {
    const fresh = JSON.parse(baseline) as Draft;
    setDraft(fresh);
    discardDraft(storeKey);
    setRestoredAt(null);
    setConfirmDiscard(false);
    setTouched(new Set());
    if (!edit) setRevealed(new Set());
  };

  const stepErrors = unpinnedFor(visibleError, step);
  const otherError = check.error && check.error.violations.length === 0 && !(check.error.code === "Aborted" && check.error.reason === "VERSION_CONFLICT") ? check.error : null;
  const total = check.error?.violations.length ?? 0;
  const current = steps[stepIndex];
  const busy = save.phase === "saving" || save.phase === "planning";
  const storedVersion = props.stored?.version.toString();
  const draftBehind = !!edit && !!storedVersion && !!draft.version && draft.version !== storedVersion && !conflict;

  return (
    <Page
      title={edit ? `Edit ${edit.domain}/${edit.name}` : "Register a product"}
      description={
        edit
          ? "Change the product, review it, then save and plan. Nothing changes in Kafka until someone approves the plan."
          : "Describe where the data comes from, what it publishes and who may see what. Nothing is created until someone approves the plan."
      }
      actions={
        <>
          {edit && (
            <Link className="button ghost" to={`/products/${edit.domain}/${edit.name}`}>
              Back to the product
            </Link>
          )}
          {dirty && !confirmDiscard && (
            <button type="button" className="button ghost" onClick={() => setConfirmDiscard(true)}>
              Discard draft
            </button>
          )}
        </>
      }
    >
      {confirmDiscard && (
        <div className="banner warning" role="alert">
          <p>
            Discard all unsaved changes{edit ? " and go back to the stored product" : ""}? This cannot be undone.
          </p>
          <div className="row">
            <button type="button" className="button danger" onClick={discard}>
              Yes, discard the draft
            </button>
            <button type="button" className="button" onClick={() => setConfirmDiscard(false)}>
              Keep editing
            </button>
          </div>
        </div>
      )}
      {restoredAt && dirty && !confirmDiscard && (
        <Notice>
          Restored your unsaved draft from {relative(new Date(restoredAt))}. Use “Discard draft” to start over.
        </Notice>
      )}
      {(conflict || draftBehind) && (
        <div className="banner warning" role="alert">
          <strong>Someone else changed this product</strong>
          <p>
            {draftBehind
              ? `Your draft edits version ${draft.version}, but version ${storedVersion} is stored now.`
              : "The product was saved by someone else since you opened it, so your version is out of date."}{" "}
            Load their version to start again from it, or keep your changes: saving then replaces what they changed.
          </p>
          <ErrorBanner error={conflict?.error} title="Could not load the current version" />
          <div className="row">
            <button type="button" className="button" disabled={conflict?.loading} onClick={() => void loadLatest(false)}>
              Load their version (discard my changes)
            </button>
            <button type="button" className="button" disabled={conflict?.loading} onClick={() => void loadLatest(true)}>
              Keep my changes
            </button>
            {edit && (
              <Link to={`/products/${edit.domain}/${edit.name}`} target="_blank" rel="noreferrer">
                See the stored product (opens a new tab)
              </Link>
            )}
          </div>
        </div>
      )}

      <nav aria-label="Steps" className="wizard-steps">
        <ol className="steps">
          {steps.map((s, i) => (
            <li key={s.id} aria-current={s.id === step ? "step" : undefined} className={i < stepIndex ? "done" : undefined}>
              <button type="button" onClick={() => s.id !== step && goTo(s.id)}>
                <span className="num">{i + 1}.</span> {s.label}
                {counts[s.id] > 0 && (
                  <span className="issues">
                    {" "}
                    ({counts[s.id]} problem{counts[s.id] === 1 ? "" : "s"})
                  </span>
                )}
              </button>
            </li>
          ))}
        </ol>
      </nav>

      <p className="live-status" role="status" aria-live="polite">
        {check.by === "none"
          ? ""
          : check.error?.reason === "POLICY_DENIED"
            ? `The admission policy refuses the product as it stands (${total} reason${total === 1 ? "" : "s"}).`
            : total > 0
              ? `${total} problem${total === 1 ? "" : "s"} left before the product can be saved${counts[step] > 0 ? `, ${counts[step]} on this step` : ""}.`
              : check.error
                ? ""
                : check.by === "server"
                  ? "The server accepts the product as it stands."
                  : "No problems found by the basic checks; the server checks everything when you save."}
      </p>
      <p className="checking" aria-hidden="true">
        {checking ? "Checking…" : "\u00a0"}
      </p>

      <ProblemsContext.Provider value={problems}>
        <div className="card wizard-step" onChangeCapture={onEdit}>
          <h2 ref={headingRef} tabIndex={-1}>
            Step {stepIndex + 1} of {steps.length}: {current.title}
          </h2>
          <ErrorBanner error={otherError} title="The server could not check the draft" />
          {stepErrors.length > 0 && step !== "review" && (
            <ErrorBanner
              error={{ code: "", reason: check.error?.reason ?? "", message: "These problems concern the step as a whole:", violations: stepErrors }}
              title={check.error?.reason === "POLICY_DENIED" ? "The admission policy refuses this" : "Also fix"}
            />
          )}
          {step === "basics" && <BasicsStep draft={draft} update={update} editing={!!edit || !!saved} />}
          {step === "source" && <SourceStep draft={draft} update={update} />}
          {step === "tables" && <TablesStep draft={draft} update={update} />}
          {step === "ports" && <PortsStep draft={draft} update={update} />}
          {step === "sinks" && <SinksStep draft={draft} update={update} />}
          {step === "review" && (
            <ReviewStep
              draft={draft}
              verdict={{ checking, by: check.by, error: check.error } satisfies Verdict}
              evaluation={evaluation.value}
              evaluationState={evaluation.state}
              goTo={goTo}
              changes={edit && props.stored ? { version: props.stored.version.toString(), list: diffDrafts(props.base, draft) } : undefined}
            />
          )}
        </div>
      </ProblemsContext.Provider>

      {save.phase === "failed" && (
        <div className="save-error">
          {save.saved ? (
            <ErrorBanner error={save.error} title="The product is saved, but the plan could not start" />
          ) : (
            <ErrorBanner
              error={
                save.error.violations.length > 0
                  ? { ...save.error, violations: [], message: `${save.error.message}. Each problem is listed on its step${step === "review" ? " and above" : ""}.` }
                  : save.error
              }
              title="The product was not saved"
            />
          )}
          {save.saved && <PlanFailureHelp error={save.error} domain={productDomain} name={productName} onRetry={() => void planAgain()} />}
        </div>
      )}

      <div className="wizard-nav row">
        {stepIndex > 0 && (
          <button type="button" className="button" onClick={() => goTo(steps[stepIndex - 1].id)}>
            Back: {steps[stepIndex - 1].label}
          </button>
        )}
        <span className="spacer" />
        {step !== "review" ? (
          <button type="button" className="button primary" onClick={() => goTo(steps[stepIndex + 1].id)}>
            Next: {steps[stepIndex + 1].label}
          </button>
        ) : (
          <div className="save">
            <p className="help" id="save-help">
              Saving stores the product{edit ? " as a new version" : " as a draft"} and starts a Terraform plan. You review the plan
              before anything changes in Kafka.
            </p>
            <button type="button" className="button primary" disabled={busy} aria-describedby="save-help" onClick={() => void saveAndPlan()}>
              {save.phase === "saving" ? "Saving…" : save.phase === "planning" ? "Starting the plan…" : "Save and plan"}
            </button>
          </div>
        )}
      </div>
    </Page>
  );
}

function PlanFailureHelp(props: { error: ApiError; domain: string; name: string; onRetry(): void }) {
  const run = /run (\S+) of /.exec(props.error.message)?.[1];
  return (
    <div className="row">
      {run && (
        <Link className="button" to={`/runs/${run}`}>
          Open the run that is in the way
        </Link>
      )}
      <button type="button" className="button" onClick={props.onRetry}>
        Try the plan again
      </button>
      <Link to={`/products/${props.domain}/${props.name}`}>Open the product</Link>
    </div>
  );
}
