// The Review step: the whole product as it will be saved, how each field
// would be masked, and the admission policy's verdict.
import type { ReactNode } from "react";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { DataProductSpecSchema } from "../../gen/meshplane/v1/catalog_pb";
import type { MaskingDecision } from "../../gen/meshplane/v1/policy_pb";
import type { ApiError } from "../../lib/api";
import { Badge, type Tone } from "../../lib/ui";
import {
  classNames,
  describeRetention,
  retentionToMs,
  sinkKinds,
  specFromDraft,
  topicFor,
  typeNames,
  type ClassName,
  type Draft,
  type SinkDraft,
} from "./draft";
import type { DraftEvaluation } from "./dryrun";
import { describePath, stepOf, steps, type StepId } from "./paths";

export interface Verdict {
  /** The live check is running or waiting for its debounce. */
  checking: boolean;
  /** Whether the server judged the draft (dry run) or only the browser did. */
  by: "server" | "browser" | "none";
  error: ApiError | null;
}

/** maskingLabel says what a masking decision does to a value, in words. */
export function maskingLabel(d: Pick<MaskingDecision, "action" | "algorithm" | "chars" | "length">): { text: string; tone: Tone } {
  switch (d.action) {
    case "allow":
      return { text: "published as is", tone: "neutral" };
    case "hash":
      return { text: `hashed${d.algorithm ? ` (${d.algorithm})` : ""}`, tone: "info" };
    case "mask":
      return { text: d.chars ? `masked (${d.chars} characters shown)` : "masked", tone: "info" };
    case "truncate":
      return { text: d.length ? `truncated to ${d.length} characters` : "truncated", tone: "warn" };
    case "drop":
      return { text: "dropped (never published)", tone: "warn" };
    default:
      return { text: d.action || "unknown", tone: "neutral" };
  }
}

/** defaultMasking is what the default masking policy does with a classification. */
export function defaultMasking(c: ClassName): { action: string; algorithm: string; chars: number; length: number } {
  if (c === "pii") return { action: "hash", algorithm: "salted SHA-256", chars: 0, length: 0 };
  if (c === "sensitive") return { action: "drop", algorithm: "", chars: 0, length: 0 };
  return { action: "allow", algorithm: "", chars: 0, length: 0 };
}

function sinkTarget(s: SinkDraft): string {
  switch (s.kind) {
    case "bigquery":
      return `${s.bigquery.project || "?"} / ${s.bigquery.dataset || "?"}`;
    case "s3":
      return `s3://${s.s3.bucket || "?"}/${s.s3.prefix} (${s.s3.format})`;
    case "jdbc":
      return s.jdbc.url || "?";
    case "elasticsearch":
      return s.elasticsearch.url || "?";
  }
}

function classBadge(c: ClassName) {
  const label = classNames.find((x) => x.value === c)?.label ?? c;
  const tone: Tone = c === "pii" ? "pii" : c === "sensitive" ? "sensitive" : c === "" ? "warn" : c === "internal" ? "info" : "neutral";
  return <Badge tone={tone}>{label}</Badge>;
}

export interface SpecChange {
  path: string;
  before: string;
  after: string;
}

function flatten(v: JsonValue | undefined, path: string, out: Map<string, string>) {
  if (v === null || v === undefined) return;
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(path, "(none)");
    v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  } else if (typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 0 && path.endsWith("labels")) out.set(path, "(none)");
    for (const k of keys) flatten(v[k], path.endsWith("labels") ? `${path}["${k}"]` : `${path}.${k}`, out);
  } else {
    const str = String(v);
    const m = /^(CLASSIFICATION|FIELD_TYPE|SOURCE_KIND|CLEANUP_POLICY)_(.*)$/.exec(str);
    if (m) out.set(path, m[2].toLowerCase().replace("_", ","));
    else if (path.endsWith(".retentionMs") && /^-?\d+$/.test(str)) out.set(path, describeRetention(BigInt(str)));
    else out.set(path, str);
  }
}

/** diffDrafts lists what saving would change, by the server's field paths ("spec.ports[0].retentionMs"). */
export function diffDrafts(before: Draft, after: Draft): SpecChange[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(toJson(DataProductSpecSchema, specFromDraft(before)), "spec", a);
  flatten(toJson(DataProductSpecSchema, specFromDraft(after)), "spec", b);
  const out: SpecChange[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(p) ?? "(none)";
    const y = b.get(p) ?? "(none)";
    if (x !== y) out.push({ path: p, before: x, after: y });
  }
  return out;
}

export function ReviewStep(props: {
  draft: Draft;
  verdict: Verdict;
  evaluation: DraftEvaluation | null;
  evaluationState: "unsupported" | "loading" | "ready" | "error";
  goTo(step: StepId): void;
  /** For an edit: the stored product's version and what the draft changes in it. */
  changes?: { version: string; list: SpecChange[] };
  children?: ReactNode;
}) {
  const { draft, verdict, evaluation } = props;
  const err = verdict.error;
  const denied = err?.reason === "POLICY_DENIED";
  const names = {
    ports: draft.ports.map((p) => p.name),
    fields: draft.ports.map((p) => p.fields.map((f) => f.name)),
    sinks: draft.sinks.map((s) => s.name),
  };
  const decision = (port: string, field: string, sink = "") =>
    evaluation?.masking.find((m) => m.port === port && m.field === field && m.sink === sink);
  const labels = draft.labels.filter((l) => l.key.trim());
  return (
    <>
      <section aria-labelledby="review-verdict" className="card verdict">
        <h3 id="review-verdict">Admission</h3>
        {verdict.checking ? (
          <p role="status">Checking the product with the server…</p>
        ) : verdict.by === "browser" ? (
          err ? (
            <p>
              <Badge tone="warn">Incomplete</Badge> Fix the {err.violations.length} problem{err.violations.length === 1 ? "" : "s"} below.
              This server judges admission when you save: if its policy refuses the product, nothing is saved and the reasons appear
              here.
            </p>
          ) : (
            <p>
              <Badge tone="info">Complete</Badge> The product looks complete. This server applies its admission policy when you save;
              if it refuses the product, nothing is saved and the reasons appear here.
            </p>
          )
        ) : !err ? (
          <p>
            <Badge tone="good">Admitted</Badge> The admission policy{evaluation?.policyVersion ? ` (${evaluation.policyVersion})` : ""}{" "}
            admits this product as it stands.
          </p>
        ) : denied ? (
          <p>
            <Badge tone="bad">Refused by policy</Badge> The admission policy refuses this product for the{" "}
            {err.violations.length === 1 ? "reason" : `${err.violations.length} reasons`} below. Nothing is saved until they are fixed.
          </p>
        ) : err.violations.length > 0 ? (
          <p>
            <Badge tone="warn">Not judged yet</Badge> The product has {err.violations.length} problem
            {err.violations.length === 1 ? "" : "s"} to fix first; the admission policy judges it once it is complete.
          </p>
        ) : (
          <p>
            <Badge tone="bad">Could not check</Badge> {err.message}
          </p>
        )}
        {err && err.violations.length > 0 && (
          <ul className="problems">
            {err.violations.map((v, x) => {
              const step = stepOf(v.field);
              const label = steps.find((s) => s.id === step)?.label ?? step;
              return (
                <li key={x}>
                  <span className="where">{describePath(v.field, names)}</span>: {v.message}{" "}
                  {step !== "review" && (
                    <button type="button" className="button ghost small" onClick={() => props.goTo(step)}>
                      Fix in {label}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      {props.changes && (
        <section aria-labelledby="review-changes" className="card">
          <h3 id="review-changes">Your changes to version {props.changes.version}</h3>
          {props.changes.list.length === 0 ? (
            <p className="muted">Nothing changed: saving plans the product as it is stored (useful after drift or a policy change).</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">What</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {props.changes.list.map((c) => (
                  <tr key={c.path}>
                    <th scope="row">{describePath(c.path, names)}</th>
                    <td>
                      <code>{c.before}</code>
                    </td>
                    <td>
                      <code>{c.after}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}

      <section aria-labelledby="review-product">
        <h3 id="review-product">Product</h3>
        <dl className="facts">
          <div>
            <dt>Name</dt>
            <dd>
              <code>
                {draft.domain || "?"}/{draft.name || "?"}
              </code>
            </dd>
          </div>
          <div>
            <dt>Owner</dt>
            <dd>{draft.owner || <span className="muted">none</span>}</dd>
          </div>
          <div>
            <dt>Description</dt>
            <dd>{draft.description || <span className="muted">none</span>}</dd>
          </div>
          <div>
            <dt>Labels</dt>
            <dd>
              {labels.length === 0 ? (
                <span className="muted">none</span>
              ) : (
                labels.map((l) => (
                  <code key={l.uid} className="chip">
                    {l.key}={l.value}
                  </code>
                ))
              )}
            </dd>
          </div>
          <div>
            <dt>Source</dt>
            <dd>
              {draft.source.kind === "mysql" ? "MySQL" : "PostgreSQL"} <code>{draft.source.host || "?"}:{draft.source.port || "?"}</code>,
              database <code>{draft.source.database || "?"}</code>, user <code>{draft.source.username || "?"}</code>, password from{" "}
              <code>{draft.source.secretRef || "?"}</code>
            </dd>
          </div>
          <div>
            <dt>Tables</dt>
            <dd>
              {draft.tables.filter(Boolean).map((t) => (
                <code key={t} className="chip">
                  {t}
                </code>
              ))}
            </dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="review-ports">
        <h3 id="review-ports">Ports, fields and masking</h3>
        {props.evaluationState === "ready" ? (
          <p className="muted">Masking as the published policy{evaluation?.policyVersion ? ` (${evaluation.policyVersion})` : ""} decides it for this draft.</p>
        ) : props.evaluationState === "loading" ? (
          <p className="muted" role="status">
            Asking the policy how it would mask each field…
          </p>
        ) : props.evaluationState === "error" ? (
          <p className="muted">
            The policy decides each field's masking once the problems above are fixed. Until then, shown is what the default policy does
            (personal data hashed, sensitive data dropped).
          </p>
        ) : (
          <p className="muted">
            Masking shown is what the default policy does (personal data hashed, sensitive data dropped); your organisation's published
            policy decides when the plan is made, and the plan review shows it.
          </p>
        )}
        {draft.ports.length === 0 && <p>No ports yet.</p>}
        {draft.ports.map((p, i) => {
          const sinks = draft.sinks.filter((s) => s.allPorts || s.ports.includes(p.name));
          return (
            <div key={p.uid} className="review-port">
              <h4>
                Port {p.name || i + 1} → <code>{topicFor(draft.domain, draft.name.trim(), p.name.trim(), p.majorVersion)}</code>
              </h4>
              <p className="muted">
                From table <code>{p.table || "?"}</code>; {p.partitions || "3"} partitions; records kept{" "}
                {describeRetention(retentionToMs(p.retentionValue, p.retentionUnit))}.
                {p.description ? ` ${p.description}` : ""}
              </p>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Type</th>
                    <th scope="col">Classification</th>
                    <th scope="col">Key</th>
                    <th scope="col">Masking in the topic</th>
                    {sinks.length > 0 && <th scope="col">In sinks</th>}
                  </tr>
                </thead>
                <tbody>
                  {p.fields.map((f) => {
                    const d = evaluation ? decision(p.name, f.name) : undefined;
                    const m = maskingLabel(d ?? defaultMasking(f.classification));
                    return (
                      <tr key={f.uid}>
                        <th scope="row">
                          <code>{f.name || "(no name)"}</code>
                        </th>
                        <td>
                          {typeNames.find((t) => t.value === f.type)?.label ?? "?"} <span className="muted">({f.type || "no type"})</span>
                        </td>
                        <td>{classBadge(f.classification)}</td>
                        <td>{f.key ? "yes" : "no"}</td>
                        <td>
                          <Badge tone={m.tone}>{m.text}</Badge>
                          {d?.fallback && <span className="muted"> (the policy could not decide: {d.reason || "fail-safe"})</span>}
                          {!evaluation && props.evaluationState !== "ready" && <span className="muted"> (default)</span>}
                        </td>
                        {sinks.length > 0 && (
                          <td>
                            {sinks.map((s) => {
                              const sd = evaluation ? decision(p.name, f.name, s.name) : undefined;
                              const sm = sd ? maskingLabel(sd) : null;
                              return (
                                <div key={s.uid}>
                                  {s.name || "sink"}: {sm ? sm.text : "as in the topic"}
                                </div>
                              );
                            })}
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          );
        })}
      </section>

      <section aria-labelledby="review-sinks">
        <h3 id="review-sinks">Sinks</h3>
        {draft.sinks.length === 0 ? (
          <p className="muted">No sinks: consumers read the Kafka topics.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Sink</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Ports</th>
              </tr>
            </thead>
            <tbody>
              {draft.sinks.map((s) => (
                <tr key={s.uid}>
                  <th scope="row">{s.name || "(no name)"}</th>
                  <td>{sinkKinds.find((k) => k.value === s.kind)?.label}</td>
                  <td>
                    <code>{sinkTarget(s)}</code>
                  </td>
                  <td>{s.allPorts ? "all ports" : s.ports.join(", ") || "none"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {props.children}
    </>
  );
}
