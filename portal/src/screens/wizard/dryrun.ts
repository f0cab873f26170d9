// The server judges the draft while it is typed: a dry run of the create or
// update (validate_only: validation, authorization, the name being free, the
// version, the admission policy — nothing written), and the published
// policy's masking decisions for the unsaved draft.
import { catalog, describeError, policy, type ApiError, type Violation } from "../../lib/api";
import type { MaskingDecision, PolicyViolation } from "../../gen/meshplane/v1/policy_pb";
import { specFromDraft, type Draft } from "./draft";

export interface Target {
  /** Set when editing a stored product. */
  edit?: { domain: string; name: string };
}

export interface DryRunResult {
  /** "server" when the server judged the draft; "browser" when only the basic checks below ran. */
  by: "server" | "browser";
  /** null when the draft is valid and admitted. */
  error: ApiError | null;
}

// A server older than validate_only ignores it and really creates the
// product; a dry-run create answers without an id. Seeing an id once, the
// portal stops asking such a server and checks in the browser instead.
let serverIgnoresDryRun = false;

/** dryRun asks the server to judge the draft as the create (or the update of
 * the version being edited) that saving would make, writing nothing. It is
 * the one place the wizard's live checks reach the server. */
export async function dryRun(draft: Draft, target: Target, signal?: AbortSignal): Promise<DryRunResult> {
  if (serverIgnoresDryRun) return { by: "browser", error: localCheck(draft) };
  const spec = specFromDraft(draft);
  try {
    if (target.edit) {
      await catalog.updateDataProduct(
        { domain: target.edit.domain, name: target.edit.name, spec, version: BigInt(draft.version || "0"), validateOnly: true },
        { signal },
      );
    } else {
      const r = await catalog.createDataProduct({ domain: draft.domain, name: draft.name.trim(), spec, validateOnly: true }, { signal });
      if (r.dataProduct?.id) {
        serverIgnoresDryRun = true;
        return {
          by: "browser",
          error: {
            code: "FailedPrecondition",
            reason: "DRY_RUN_UNSUPPORTED",
            message: `This server does not support checking a draft without saving it, so ${draft.domain}/${draft.name.trim()} was saved as a draft product. Ask for the server to be updated; until then the portal checks drafts in your browser.`,
            violations: [],
          },
        };
      }
    }
    return { by: "server", error: null };
  } catch (e) {
    if (signal?.aborted) throw e;
    return { by: "server", error: describeError(e) };
  }
}

export interface DraftEvaluation {
  allowed: boolean;
  violations: PolicyViolation[];
  masking: MaskingDecision[];
  policyVersion: string;
}

/** draftEvaluationSupported reports whether EvaluateDataProduct accepts an unsaved draft. */
export function draftEvaluationSupported(): boolean {
  return !serverIgnoresDryRun;
}

/** evaluateDraft asks the published policy how it would admit and mask the unsaved draft. */
export async function evaluateDraft(draft: Draft, signal?: AbortSignal): Promise<DraftEvaluation | null> {
  if (serverIgnoresDryRun) return null;
  const res = await policy.evaluateDataProduct({ domain: draft.domain, name: draft.name.trim(), spec: specFromDraft(draft) }, { signal });
  return { allowed: res.allowed, violations: res.violations, masking: res.masking, policyVersion: res.policyVersion };
}

// ---- Basic checks in the browser, for servers without the dry run. ----
// They mirror the server's most common rules and use its paths; the server
// remains the judge when the product is saved.

const nameRe = /^[a-z][a-z0-9-]{1,62}$/;
const fieldNameRe = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const refRe = /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:(\/[A-Za-z0-9._-]+)+:[A-Za-z0-9._-]{1,128}|vault:[A-Za-z0-9][A-Za-z0-9._/-]{0,254}:[A-Za-z0-9._-]{1,128})$/;
const tableRe = /^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const NAME_RULE = "must be 2 to 63 lower-case letters, digits and '-', starting with a letter";

/** localCheck runs the basic rules in the browser; null when none is broken. */
export function localCheck(d: Draft): ApiError | null {
  const v: Violation[] = [];
  const add = (field: string, message: string) => v.push({ field, message });
  const name = (path: string, s: string) => {
    if (!s.trim()) add(path, "is required");
    else if (!nameRe.test(s.trim())) add(path, NAME_RULE);
  };
  name("domain", d.domain);
  name("name", d.name);
  if (!d.owner.trim()) add("spec.owner", "is required");
  const src = d.source;
  if (!src.host.trim()) add("spec.source.host", "is required");
  const port = Number(src.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) add("spec.source.port", "must be between 1 and 65535");
  if (!src.database.trim()) add("spec.source.database", "is required");
  if (!src.username.trim()) add("spec.source.username", "is required");
  if (!src.secretRef.trim()) add("spec.source.secretRef", "is required: name where the secret lives (env:NAME, file:/path:key or vault:path:key), never the secret itself");
  else if (!refRe.test(src.secretRef.trim())) add("spec.source.secretRef", "must be a secret reference of the form env:NAME, file:/path:key or vault:path:key");
  if (d.tables.length === 0) add("spec.source.tables", "at least one table is required");
  d.tables.forEach((t, i) => {
    if (!tableRe.test(t.trim())) add(`spec.source.tables[${i}]`, "must be a qualified table name schema.table (for mysql database.table) of plain identifiers");
  });
  if (d.ports.length === 0) add("spec.ports", "at least one output port is required");
  d.ports.forEach((p, i) => {
    name(`spec.ports[${i}].name`, p.name);
    if (p.fields.length === 0) add(`spec.ports[${i}].fields`, "at least one field is required");
    if (!p.table && d.tables.length > 1) add(`spec.ports[${i}].table`, "is required when the source has more than one table");
    p.fields.forEach((f, j) => {
      const fp = `spec.ports[${i}].fields[${j}]`;
      if (!f.name.trim()) add(fp + ".name", "is required");
      else if (!fieldNameRe.test(f.name.trim())) add(fp + ".name", "must start with a letter or '_' and hold only letters, digits and '_'");
      if (!f.type) add(fp + ".type", "is required");
      if (!f.classification) add(fp + ".classification", `field "${f.name}" is not classified: set none, internal, pii or sensitive`);
    });
  });
  d.sinks.forEach((s, k) => name(`spec.sinks[${k}].name`, s.name));
  if (v.length === 0) return null;
  return { code: "InvalidArgument", reason: "CHECKED_IN_BROWSER", message: "the product is not complete yet", violations: v };
}
