// One policy module: edit the draft, test it, measure its impact, publish
// it, browse its versions (diff, roll back) and the decision log.
import { useEffect, useId, useRef, useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import {
  PolicyService,
  type PolicyImpact,
  type PolicyModule,
  type PublishPolicyResponse,
  type TestPolicyDraftResponse,
} from "../../gen/meshplane/v1/policy_pb";
import { describeError, violationsFor, type ApiError } from "../../lib/api";
import { Link, setQuery, useLocation } from "../../lib/router";
import { Badge, ErrorBanner, Field, Loading, Notice, Page, TabPanel, Tabs, When, dateOf } from "../../lib/ui";
import { CodeEditor, goToLine } from "./CodeEditor";
import { compileProblems, linesOf, type LineProblem } from "./problems";
import { formatMicros, plural } from "./common";
import { MODULE_PURPOSE } from "./PolicyList";
import { ImpactView } from "./Impact";
import { VersionsPanel } from "./Versions";
import { DecisionsPanel } from "./Decisions";
import "./governance.css";

const TABS = [
  { id: "edit", label: "Edit draft" },
  { id: "test", label: "Test" },
  { id: "impact", label: "Impact" },
  { id: "publish", label: "Publish" },
  { id: "versions", label: "Versions" },
  { id: "decisions", label: "Decision log" },
];

/** sameFiles says whether two file sets hold the same names and contents. */
export function sameFiles(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** fileOrder lists policy files first, then tests, each by name. */
export function fileOrder(names: string[]): string[] {
  return [...names].sort((a, b) => Number(a.endsWith("_test.rego")) - Number(b.endsWith("_test.rego")) || (a < b ? -1 : a > b ? 1 : 0));
}

/** publishBlockers lists, in words, why the draft cannot be published yet. */
export function publishBlockers(s: {
  dirty: boolean;
  draftChanged: boolean;
  version: bigint;
  tests: { version: bigint; passed: boolean } | null;
}): string[] {
  const out: string[] = [];
  if (s.dirty) out.push("Save your edits: only the saved draft can be tested and published.");
  if (!s.dirty && !s.draftChanged) out.push("The draft is the same as the version in force: there is nothing to publish.");
  if (!s.tests) out.push("Run the tests on this draft (Test tab).");
  else if (s.tests.version !== s.version) out.push("The draft changed since the tests last ran: run them again.");
  else if (!s.tests.passed) out.push("The tests did not pass on this draft: fix the draft and run them again.");
  return out;
}

export function PolicyModulePage({ name }: { name: string }) {
  const { query } = useLocation();
  const tab = TABS.some((t) => t.id === query.get("tab")) ? query.get("tab")! : "edit";
  const qc = useQueryClient();
  const mod = useQuery(PolicyService.method.getPolicyModule, { name });
  const server = mod.data?.module;

  // Local, unsaved edits and the draft version they started from.
  const [edit, setEdit] = useState<{ files: Record<string, string>; base: bigint } | null>(null);
  const [saveErr, setSaveErr] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<bigint | null>(null);
  const [tests, setTests] = useState<{ version: bigint; res: TestPolicyDraftResponse } | null>(null);
  const [impact, setImpact] = useState<{ version: bigint; res: PolicyImpact } | null>(null);
  const [published, setPublished] = useState<PublishPolicyResponse | null>(null);

  const files = edit?.files ?? server?.files ?? {};
  const dirty = !!server && !!edit && !sameFiles(edit.files, server.files);

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const save = useMutation(PolicyService.method.savePolicyDraft, {
    onMutate: () => {
      setSaveErr(null);
      setSaved(null);
    },
    onSuccess: async (res) => {
      await mod.refetch();
      setEdit(null);
      setSaved(res.module?.version ?? null);
      void qc.invalidateQueries();
    },
    onError: (e) => setSaveErr(describeError(e)),
  });

  function onEdit(next: Record<string, string>) {
    if (!server) return;
    setEdit((cur) => ({ files: next, base: cur?.base ?? server.version }));
    setSaved(null);
  }

  if (mod.isPending) {
    return (
      <Page title={`Policies: ${name}`}>
        <Loading what={`Loading the ${name} policy`} />
      </Page>
    );
  }
  if (!server) {
    return (
      <Page title={`Policies: ${name}`}>
        <ErrorBanner error={mod.error ? describeError(mod.error) : null} title={`The ${name} policy could not be loaded`} />
        <p>
          <Link to="/governance/policies">Back to all policies</Link>
        </p>
      </Page>
    );
  }

  const version = server.version;
  const testsNow = tests && tests.version === version ? tests : null;
  const blockers = publishBlockers({
    dirty,
    draftChanged: server.draftChanged,
    version,
    tests: tests ? { version: tests.version, passed: tests.res.passed } : null,
  });

  return (
    <Page
      title={`Policies: ${name}`}
      description={
        <>
          {server.description || MODULE_PURPOSE[name] || "A policy module."} <Link to="/governance/policies">All policies</Link>
        </>
      }
    >
      <div className="status-line">
        {server.publishedVersion > 0 ? (
          <Badge tone="good">In force: version {server.publishedVersion}</Badge>
        ) : (
          <Badge tone="warn">Never published</Badge>
        )}
        <span>
          Draft version {String(version)}
          {server.draftUpdatedBy && <> saved by {server.draftUpdatedBy}</>} <When date={dateOf(server.updateTime)} />
        </span>
        {server.draftChanged ? <Badge tone="info">Draft differs from the version in force</Badge> : <span className="muted">Draft is the version in force</span>}
      </div>
      <ReviewSteps dirty={dirty} server={server} tests={tests} impact={impact} />
      <Tabs label="Policy module" tabs={TABS} selected={tab} onSelect={(id) => setQuery({ tab: id === "edit" ? undefined : id })} />
      <TabPanel id={tab}>
        {tab === "edit" && (
          <DraftEditor
            module={server}
            files={files}
            dirty={dirty}
            onChange={onEdit}
            saving={save.isPending}
            saveErr={saveErr}
            saved={saved}
            onSave={() => save.mutate({ name, files, version: edit?.base ?? version })}
            onDiscard={() => {
              setEdit(null);
              setSaveErr(null);
              void mod.refetch();
            }}
          />
        )}
        {tab === "test" && <TestsPanel name={name} version={version} dirty={dirty} tests={testsNow} stale={tests} onDone={setTests} />}
        {tab === "impact" && (
          <ImpactPanel name={name} version={version} dirty={dirty} impact={impact} onDone={(res) => setImpact({ version, res })} />
        )}
        {tab === "publish" && (
          <PublishPanel
            module={server}
            blockers={blockers}
            impactReviewed={impact?.version === version}
            published={published}
            onPublished={(res) => {
              setPublished(res);
              setTests(null);
              setImpact(null);
              void qc.invalidateQueries();
            }}
          />
        )}
        {tab === "versions" && <VersionsPanel module={server} draft={files} dirty={dirty} />}
        {tab === "decisions" && <DecisionsPanel />}
      </TabPanel>
    </Page>
  );
}

function ReviewSteps(props: {
  dirty: boolean;
  server: PolicyModule;
  tests: { version: bigint; res: TestPolicyDraftResponse } | null;
  impact: { version: bigint } | null;
}) {
  const v = props.server.version;
  const t = props.tests && props.tests.version === v ? props.tests.res : null;
  const steps: { label: string; state: "done" | "todo" | "failed" }[] = [
    { label: props.dirty ? "1. Save: unsaved edits" : "1. Save: draft saved", state: props.dirty ? "todo" : "done" },
    {
      label: !t || props.dirty ? "2. Test: not run on this draft" : t.passed ? "2. Test: passed" : "2. Test: failed",
      state: !t || props.dirty ? "todo" : t.passed ? "done" : "failed",
    },
    {
      label: props.impact?.version === v && !props.dirty ? "3. Impact: checked" : "3. Impact: not checked",
      state: props.impact?.version === v && !props.dirty ? "done" : "todo",
    },
    {
      label: props.server.draftChanged || props.dirty ? "4. Publish: not yet" : `4. Publish: version ${props.server.publishedVersion} in force`,
      state: props.server.draftChanged || props.dirty ? "todo" : "done",
    },
  ];
  return (
    <ol className="review-steps" aria-label="Steps to publish this draft">
      {steps.map((s) => (
        <li key={s.label} className={s.state}>
          {s.label}
        </li>
      ))}
    </ol>
  );
}

function DraftEditor(props: {
  module: PolicyModule;
  files: Record<string, string>;
  dirty: boolean;
  onChange(files: Record<string, string>): void;
  saving: boolean;
  saveErr: ApiError | null;
  saved: bigint | null;
  onSave(): void;
  onDiscard(): void;
}) {
  const names = fileOrder(Object.keys(props.files));
  const [picked, setPicked] = useState<string>("");
  const file = names.includes(picked) ? picked : names[0] ?? "";
  const ta = useRef<HTMLTextAreaElement | null>(null);
  const [jump, setJump] = useState<LineProblem | null>(null);
  const [newName, setNewName] = useState("");
  const [nameErr, setNameErr] = useState("");
  const problemsId = useId();
  const helpId = useId();
  const problems = compileProblems(props.saveErr, names);
  const marked = linesOf(problems.lines, file);
  const module = props.module.name;
  const conflict = props.saveErr?.code === "Aborted";
  const known = new Set(["files", "version", "name"]);
  const otherErr =
    props.saveErr && !conflict && problems.lines.length === 0 && problems.general.length === 0
      ? props.saveErr
      : props.saveErr && props.saveErr.violations.some((v) => !known.has(v.field) && !v.field.startsWith("files["))
        ? props.saveErr
        : null;

  useEffect(() => {
    if (jump && jump.file === file) {
      goToLine(ta.current, jump.line, jump.col || 1);
      setJump(null);
    }
  }, [jump, file]);

  function addFile() {
    const n = newName.trim();
    const re = new RegExp(`^${module}(_[a-z0-9_]{1,60})?\\.rego$`);
    if (!re.test(n)) {
      setNameErr(`Name it ${module}.rego or ${module}_<suffix>.rego, in lower case (for example ${module}_rules.rego or ${module}_more_test.rego).`);
      return;
    }
    if (n in props.files) {
      setNameErr(`${n} is already in the draft.`);
      return;
    }
    const pkg = n.endsWith("_test.rego") ? `meshplane.${module}_test` : `meshplane.${module}`;
    props.onChange({ ...props.files, [n]: `package ${pkg}\n` });
    setPicked(n);
    setNewName("");
    setNameErr("");
  }

  return (
    <div>
      <h2 className="sr-only">Edit draft</h2>
      {props.saved !== null && (
        <Notice tone="success">
          Draft saved as version {String(props.saved)}: it compiles with the other published modules. Next, run the tests (Test tab).
        </Notice>
      )}
      {conflict && (
        <div className="banner error" role="alert">
          <strong>Someone else saved this draft while you were editing.</strong>
          <p>
            Your edits were not saved. Copy what you changed, then load the latest draft and apply your edits to it again.
          </p>
          <button type="button" className="button" onClick={props.onDiscard}>
            Discard my edits and load the latest draft
          </button>
        </div>
      )}
      <ErrorBanner error={otherErr} title="The draft was not saved" />
      <ul className="file-list" aria-label="Files in this draft">
        {names.map((n) => (
          <li key={n}>
            <button type="button" className="button" aria-pressed={n === file} onClick={() => setPicked(n)}>
              {n}
              {problems.lines.some((p) => p.file === n) && <span className="badge bad">has errors</span>}
            </button>
          </li>
        ))}
      </ul>
      {file && (
        <div className="field wide">
          <label htmlFor={`editor-${file}`}>Contents of {file}</label>
          <p className="help" id={helpId}>
            Rego source. Tab indents with spaces (Shift+Tab removes them); press Esc, then Tab, to move on to the next control.
            {file.endsWith("_test.rego") && " Test rules start with test_; publishing needs them to pass."}
          </p>
          <CodeEditor
            id={`editor-${file}`}
            textareaRef={ta}
            value={props.files[file] ?? ""}
            onChange={(v) => props.onChange({ ...props.files, [file]: v })}
            marked={marked}
            describedBy={[helpId, problems.lines.length || problems.general.length ? problemsId : ""].filter(Boolean).join(" ")}
          />
        </div>
      )}
      {(problems.lines.length > 0 || problems.general.length > 0) && (
        <div id={problemsId}>
          <h3>
            {props.saveErr?.reason === "POLICY_COMPILE_ERROR" ? "The draft does not compile" : "The draft was refused"}:{" "}
            {plural(problems.lines.length + problems.general.length, "problem")}
          </h3>
          <ul className="problems">
            {problems.lines.map((p, i) => (
              <li key={i}>
                <span className="where">
                  {p.file}
                  {p.line > 0 && `:${p.line}:${p.col}`}
                </span>
                <span>{p.message}</span>
                {p.line > 0 && (
                  <button
                    type="button"
                    className="linkish"
                    onClick={() => {
                      setPicked(p.file);
                      setJump(p);
                    }}
                  >
                    Go to line {p.line} of {p.file}
                  </button>
                )}
              </li>
            ))}
            {problems.general.map((p, i) => (
              <li key={"g" + i}>{p.message}</li>
            ))}
          </ul>
        </div>
      )}
      <div className="toolbar">
        <button type="button" className="button primary" disabled={!props.dirty || props.saving} onClick={props.onSave}>
          {props.saving ? "Saving…" : "Save draft"}
        </button>
        {props.dirty ? (
          <>
            <span className="muted">Unsaved edits. Saving checks that the draft compiles; it does not change what is in force.</span>
            <button type="button" className="button ghost" onClick={props.onDiscard}>
              Discard edits
            </button>
          </>
        ) : (
          <span className="muted">No unsaved edits.</span>
        )}
      </div>
      <details className="help-box">
        <summary>Add or remove a file</summary>
        <div className="inline-form">
          <Field
            label="New file name"
            help={`${module}.rego or ${module}_<suffix>.rego; tests end in _test.rego.`}
            errors={nameErr ? [nameErr] : []}
          >
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                value={newName}
                onChange={(e) => setNewName(e.target.value)}
                placeholder={`${module}_more_test.rego`}
                autoComplete="off"
                onKeyDown={(e) => {
                  if (e.key === "Enter") {
                    e.preventDefault();
                    addFile();
                  }
                }}
              />
            )}
          </Field>
          <button type="button" className="button" onClick={addFile}>
            Add file
          </button>
        </div>
        {names.length > 1 && file && (
          <p>
            <button
              type="button"
              className="button"
              onClick={() => {
                const next = { ...props.files };
                delete next[file];
                props.onChange(next);
                setPicked("");
              }}
            >
              Remove {file} from the draft
            </button>
          </p>
        )}
      </details>
    </div>
  );
}

function TestsPanel(props: {
  name: string;
  version: bigint;
  dirty: boolean;
  tests: { version: bigint; res: TestPolicyDraftResponse } | null;
  stale: { version: bigint; res: TestPolicyDraftResponse } | null;
  onDone(t: { version: bigint; res: TestPolicyDraftResponse }): void;
}) {
  const run = useMutation(PolicyService.method.testPolicyDraft);
  const err = run.error ? describeError(run.error) : null;
  const t = props.tests?.res;
  const results = t ? [...t.results].sort((a, b) => Number(a.passed || a.skipped) - Number(b.passed || b.skipped)) : [];
  const failed = results.filter((r) => !r.passed && !r.skipped).length;
  return (
    <div>
      <h2>Run the draft's tests</h2>
      <p className="muted">
        Runs every <code>*_test.rego</code> of the saved draft version {String(props.version)}. Publishing needs at least one test of
        this module and no failure.
      </p>
      {props.dirty && <Notice tone="warning">You have unsaved edits: tests run on the saved draft. Save first to test your edits.</Notice>}
      <div className="toolbar">
        <button
          type="button"
          className="button primary"
          disabled={run.isPending || props.dirty}
          onClick={() => {
            const version = props.version;
            run.mutate({ name: props.name }, { onSuccess: (res) => props.onDone({ version, res }) });
          }}
        >
          {run.isPending ? "Running tests…" : "Run tests"}
        </button>
        {props.stale && !props.tests && <span className="muted">The last run was on an older draft.</span>}
      </div>
      <ErrorBanner error={err} title="The tests could not run" />
      {t && (
        <>
          {t.passed ? (
            <Notice tone="success">
              Tests passed: {plural(results.filter((r) => r.passed).length, "test")} passed on draft version {String(props.tests!.version)}.
              You may publish this draft.
            </Notice>
          ) : (
            <div className="banner error" role="alert">
              <strong>Tests did not pass</strong>
              <p>
                {failed > 0 ? `${plural(failed, "test")} failed: see the messages in the table below.` : t.problem || "The draft has no passing test of its own."}{" "}
                The draft cannot be published until they pass.
              </p>
            </div>
          )}
          {results.length > 0 && (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Test results</caption>
                <thead>
                  <tr>
                    <th scope="col">Result</th>
                    <th scope="col">Test</th>
                    <th scope="col">Where</th>
                    <th scope="col">Took</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {results.map((r, i) => (
                    <tr key={i} className={!r.passed && !r.skipped ? "destructive" : undefined}>
                      <td>
                        {r.skipped ? <Badge>Skipped</Badge> : r.passed ? <Badge tone="good">Passed</Badge> : <Badge tone="bad">Failed</Badge>}
                      </td>
                      <td>
                        <code>{r.name}</code>
                        <div className="muted">{r.package}</div>
                      </td>
                      <td className="nowrap">
                        <code>
                          {r.file}
                          {r.line > 0 && `:${r.line}`}
                        </code>
                      </td>
                      <td className="nowrap">{formatMicros(r.durationUs)}</td>
                      <td>{r.message ? <pre className="inline-pre">{r.message}</pre> : <span className="muted">—</span>}</td>
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

function ImpactPanel(props: { name: string; version: bigint; dirty: boolean; impact: { version: bigint; res: PolicyImpact } | null; onDone(res: PolicyImpact): void }) {
  const run = useMutation(PolicyService.method.getPolicyImpact, {
    onSuccess: (res) => res.impact && props.onDone(res.impact),
  });
  const err = run.error ? describeError(run.error) : null;
  const current = props.impact && props.impact.version === props.version;
  return (
    <div>
      <h2>Impact of publishing this draft</h2>
      <p className="muted">
        Evaluates the saved draft and the version in force side by side over every product in the catalog (and every pending access
        request) and lists what would change. Nothing is changed.
      </p>
      {props.dirty && <Notice tone="warning">You have unsaved edits: the impact is computed for the saved draft. Save first.</Notice>}
      <div className="toolbar">
        <button type="button" className="button primary" disabled={run.isPending || props.dirty} onClick={() => run.mutate({ name: props.name })}>
          {run.isPending ? "Checking impact…" : "Check impact"}
        </button>
        {props.impact && !current && <span className="muted">The impact below was computed for an older draft: check again.</span>}
      </div>
      <ErrorBanner error={err} title="The impact could not be computed" />
      {props.impact && <ImpactView impact={props.impact.res} />}
    </div>
  );
}

function PublishPanel(props: {
  module: PolicyModule;
  blockers: string[];
  impactReviewed: boolean;
  published: PublishPolicyResponse | null;
  onPublished(res: PublishPolicyResponse): void;
}) {
  const [message, setMessage] = useState("");
  const publish = useMutation(PolicyService.method.publishPolicy, {
    onSuccess: (res) => {
      setMessage("");
      props.onPublished(res);
    },
  });
  const err = publish.error ? describeError(publish.error) : null;
  const messageErrs = violationsFor(err, "message");
  const bannerErr = err && err.violations.some((v) => v.field !== "message") ? err : err && messageErrs.length === 0 ? err : null;
  const blocked = props.blockers.length > 0;
  const blockersId = useId();
  return (
    <div>
      <h2>Publish the draft</h2>
      {props.published && (
        <Notice tone="success">
          <strong>Published version {props.published.version?.number}.</strong> Evaluation uses it from now on.{" "}
          {props.published.plans.length === 0
            ? "No provisioned product's connectors change, so no plan was queued."
            : `${plural(props.published.plans.length, "product")} got a new plan for their owners to review:`}
          {props.published.plans.length > 0 && (
            <ul>
              {props.published.plans.map((p) => (
                <li key={p.domain + "/" + p.product}>
                  {p.domain}/{p.product}:{" "}
                  {p.runId ? <Link to={`/runs/${encodeURIComponent(p.runId)}`}>plan {p.runId}</Link> : <>no plan queued ({p.skipped})</>}
                </li>
              ))}
            </ul>
          )}
        </Notice>
      )}
      <p>
        Publishing makes draft version {String(props.module.version)} a new, immutable version of <strong>{props.module.name}</strong>.
        Evaluation switches to it at once; every provisioned product whose connector settings change gets a new plan, which is applied
        only when its owners approve it.
      </p>
      {blocked ? (
        <div className="banner warning" id={blockersId}>
          <strong>Not ready to publish</strong>
          <ul>
            {props.blockers.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        </div>
      ) : (
        !props.impactReviewed && (
          <Notice tone="info">Tests passed. Check the impact (Impact tab) before publishing, so you know which products change.</Notice>
        )
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          publish.mutate({ name: props.module.name, message: message.trim(), version: props.module.version });
        }}
      >
        <Field
          label="Publish message"
          help="Required. Say what changes and why, e.g. “mask contact e-mails instead of hashing them”. It is kept with the version and in the audit log."
          errors={messageErrs}
        >
          {(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={message} onChange={(e) => setMessage(e.target.value)} required />}
        </Field>
        <ErrorBanner error={bannerErr} title="The draft was not published" />
        <button
          type="submit"
          className="button primary"
          disabled={blocked || publish.isPending || !message.trim()}
          aria-describedby={blocked ? blockersId : undefined}
        >
          {publish.isPending ? "Publishing…" : "Publish"}
        </button>
      </form>
    </div>
  );
}
