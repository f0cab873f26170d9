// Roles: the Casbin role definitions (who may do what) in an editor with
// the server's line errors pinned, and the role bindings per domain
// (who holds which role where).
import { Fragment, useEffect, useId, useRef, useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { PolicyService } from "../gen/meshplane/v1/policy_pb";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { IdentityService, PrincipalKind, type RoleBinding } from "../gen/meshplane/v1/identity_pb";
import { describeError, violationsFor, type ApiError } from "../lib/api";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, Page, When, dateOf } from "../lib/ui";
import { CodeEditor, goToLine } from "./governance/CodeEditor";
import { linesOf, rbacProblems } from "./governance/problems";
import { plural } from "./governance/common";
import { unpinned } from "./access/format";
import "./governance/governance.css";

/** Object types and their actions, as the server knows them (policies/rbac/policy.csv). */
export const RBAC_OBJECTS: { object: string; actions: string; means: string }[] = [
  { object: "domain", actions: "read, create, update, delete", means: "the domain itself" },
  { object: "product", actions: "read, create, update, delete, update-draft, delete-draft, read-pii", means: "data products; read-pii previews raw personal data" },
  { object: "provision", actions: "read, plan, approve, approve-destructive, cancel, decommission, operate", means: "Terraform plans and applies; operate restarts, pauses and resumes connectors" },
  { object: "principal", actions: "read, create, update, delete", means: "users and service accounts" },
  { object: "token", actions: "read, create, revoke", means: "API tokens" },
  { object: "rolebinding", actions: "read, create, delete", means: "who holds which role" },
  { object: "audit", actions: "read", means: "the audit log" },
  { object: "policy", actions: "read, draft, test, publish", means: "Rego policy modules" },
  { object: "rbac", actions: "read, update", means: "these role definitions" },
  { object: "grant", actions: "read, request, approve, govern, revoke", means: "consumer access to the domain's ports" },
  { object: "credential", actions: "read, issue", means: "Kafka credentials of service accounts" },
  { object: "webhook", actions: "read, create, update, delete", means: "endpoints the domain's events are delivered to" },
];

/** GLOBAL_ROLES may only be bound in every domain (*). */
export const GLOBAL_ROLES = ["platform-admin", "governance-officer"];

export function Roles() {
  return (
    <Page
      title="Roles"
      description="Roles say what people and service accounts may do; role bindings give someone a role in a domain. Changes take effect at once and are audited."
    >
      <RoleDefinitions />
      <RoleBindings />
    </Page>
  );
}

function RoleDefinitions() {
  const q = useQuery(PolicyService.method.getRBACPolicy, {});
  const qc = useQueryClient();
  const [edit, setEdit] = useState<{ text: string; base: bigint } | null>(null);
  const [err, setErr] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<bigint | null>(null);
  const ta = useRef<HTMLTextAreaElement | null>(null);
  const editorId = useId();
  const helpId = useId();
  const problemsId = useId();
  const save = useMutation(PolicyService.method.updateRBACPolicy, {
    onMutate: () => {
      setErr(null);
      setSaved(null);
    },
    onSuccess: async (res) => {
      await q.refetch();
      setEdit(null);
      setSaved(res.version);
      void qc.invalidateQueries();
    },
    onError: (e) => setErr(describeError(e)),
  });
  const server = q.data;
  const text = edit?.text ?? server?.text ?? "";
  const dirty = !!server && !!edit && edit.text !== server.text;
  const problems = rbacProblems(err);
  const marked = linesOf(problems.lines, "");
  const conflict = err?.code === "Aborted";
  const rest = conflict ? null : unpinned(err, (f) => f === "policy" || f.startsWith("policy."));

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  return (
    <section aria-labelledby={editorId + "-h"}>
      <h2 id={editorId + "-h"}>Role definitions</h2>
      <ErrorBanner error={q.error ? describeError(q.error) : null} title="The role definitions could not be loaded" />
      {q.isPending && <Loading what="Loading role definitions" />}
      {server && (
        <>
          <p>
            Version {String(server.version)} in force. Defined roles:{" "}
            {server.roles.map((r, i) => (
              <Fragment key={r}>
                {i > 0 && " "}
                <Badge tone="info">{r}</Badge>
              </Fragment>
            ))}
          </p>
          <details className="help-box">
            <summary>How the lines work</summary>
            <p>
              Each line gives a role one permission: <code>p, role:NAME, OBJECT, ACTION</code>. For example{" "}
              <code>p, role:viewer, product, read</code> lets viewers read data products. <code>*</code> as OBJECT or ACTION means all of
              them. Lines starting with <code>#</code> are comments; blank lines are ignored. A role is defined by its lines, and holds in
              whichever domains it is bound (see Role bindings below).
            </p>
            <p>
              Rules that keep the platform safe: <code>p, role:platform-admin, *, *</code> must stay, and a role that a binding uses cannot be
              removed. A malformed line refuses the whole change and is marked here.
            </p>
            <table>
              <caption className="sr-only">Object types and their actions</caption>
              <thead>
                <tr>
                  <th scope="col">Object</th>
                  <th scope="col">Actions</th>
                  <th scope="col">What it covers</th>
                </tr>
              </thead>
              <tbody>
                {RBAC_OBJECTS.map((o) => (
                  <tr key={o.object}>
                    <td>
                      <code>{o.object}</code>
                    </td>
                    <td>
                      <code>{o.actions}</code>
                    </td>
                    <td>{o.means}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
          {saved !== null && <Notice tone="success">Role definitions saved as version {String(saved)} and in force now.</Notice>}
          {conflict && (
            <div className="banner error" role="alert">
              <strong>Someone else changed the role definitions while you were editing.</strong>
              <p>Your change was not saved. Copy your edits, load the current definitions and apply them again.</p>
              <button
                type="button"
                className="button"
                onClick={() => {
                  setEdit(null);
                  setErr(null);
                  void q.refetch();
                }}
              >
                Discard my edits and load the current definitions
              </button>
            </div>
          )}
          <div className="field wide">
            <label htmlFor={editorId}>Role definition lines</label>
            <p className="help" id={helpId}>
              One permission per line. Tab indents; press Esc, then Tab, to move on to the next control.
            </p>
            <CodeEditor
              id={editorId}
              textareaRef={ta}
              value={text}
              onChange={(v) => {
                setEdit((cur) => ({ text: v, base: cur?.base ?? server.version }));
                setSaved(null);
              }}
              marked={marked}
              describedBy={[helpId, problems.lines.length + problems.general.length ? problemsId : ""].filter(Boolean).join(" ")}
            />
          </div>
          {(problems.lines.length > 0 || problems.general.length > 0) && (
            <div id={problemsId}>
              <h3>The role definitions were refused: {plural(problems.lines.length + problems.general.length, "problem")}</h3>
              <ul className="problems">
                {problems.lines.map((p, i) => (
                  <li key={i}>
                    <span className="where">Line {p.line}</span>
                    <span>{p.message}</span>
                    <button type="button" className="linkish" onClick={() => goToLine(ta.current, p.line)}>
                      Go to line {p.line}
                    </button>
                  </li>
                ))}
                {problems.general.map((p, i) => (
                  <li key={"g" + i}>{p.message}</li>
                ))}
              </ul>
            </div>
          )}
          <ErrorBanner error={rest} title="The role definitions were not saved" />
          <div className="toolbar">
            <button
              type="button"
              className="button primary"
              disabled={!dirty || save.isPending}
              onClick={() => save.mutate({ text, version: edit?.base ?? server.version })}
            >
              {save.isPending ? "Saving…" : "Save role definitions"}
            </button>
            {dirty ? (
              <>
                <span className="muted">Unsaved edits: they take effect for everyone as soon as you save.</span>
                <button
                  type="button"
                  className="button ghost"
                  onClick={() => {
                    setEdit(null);
                    setErr(null);
                  }}
                >
                  Discard edits
                </button>
              </>
            ) : (
              <span className="muted">No unsaved edits.</span>
            )}
          </div>
        </>
      )}
    </section>
  );
}

function RoleBindings() {
  const [domain, setDomain] = useState("");
  const filterId = useId();
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  const q = useQuery(IdentityService.method.listRoleBindings, { domain });
  const err = q.error ? describeError(q.error) : null;
  const bindings = q.data?.roleBindings ?? [];
  return (
    <section aria-labelledby={filterId + "-h"}>
      <h2 id={filterId + "-h"}>Role bindings</h2>
      <p className="muted">
        A binding gives one person or service account a role in one domain, or in every domain (<code>*</code>). You see the bindings of the
        domains whose bindings you may read, and your own.
      </p>
      <div className="facets">
        <div className="field">
          <label htmlFor={filterId}>Show bindings in</label>
          <select id={filterId} value={domain} onChange={(e) => setDomain(e.target.value)}>
            <option value="">all domains I can see</option>
            <option value="*">every domain (*) only</option>
            {domains.data?.domains.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={err} title="The role bindings could not be loaded" />
      {q.isPending && <Loading what="Loading role bindings" />}
      {q.data && bindings.length === 0 && (
        <EmptyState title={domain ? `No bindings in ${domain === "*" ? "every domain" : domain}` : "No role bindings you can see"}>
          Add one with the form below.
        </EmptyState>
      )}
      {bindings.length > 0 && <BindingTable bindings={bindings} />}
      <AddBinding domains={domains.data?.domains.map((d) => d.name) ?? []} />
    </section>
  );
}

function BindingTable({ bindings }: { bindings: RoleBinding[] }) {
  const [removing, setRemoving] = useState<string | null>(null);
  const qc = useQueryClient();
  const del = useMutation(IdentityService.method.deleteRoleBinding, {
    onSuccess: () => setRemoving(null),
    onSettled: () => void qc.invalidateQueries(),
  });
  const err = del.error ? describeError(del.error) : null;
  return (
    <div className="table-wrap">
      <ErrorBanner error={err} title="The binding was not removed" />
      <table>
        <caption className="sr-only">Role bindings</caption>
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Role</th>
            <th scope="col">Domain</th>
            <th scope="col">Added</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {bindings.map((b) => (
            <tr key={b.id}>
              <td>{b.principal}</td>
              <td>
                <Badge tone={GLOBAL_ROLES.includes(b.role) ? "info" : "neutral"}>{b.role}</Badge>
              </td>
              <td>{b.domain === "*" ? "every domain (*)" : b.domain}</td>
              <td>
                <When date={dateOf(b.createTime)} />
                {b.createdBy && <span className="muted"> by {b.createdBy}</span>}
              </td>
              <td>
                {removing === b.id ? (
                  <div className="row">
                    <button type="button" className="button danger" disabled={del.isPending} onClick={() => del.mutate({ id: b.id })}>
                      {del.isPending ? "Removing…" : "Yes, remove"}
                      <span className="sr-only">
                        {" "}
                        {b.principal}'s {b.role} role in {b.domain}
                      </span>
                    </button>
                    <button type="button" className="button ghost" onClick={() => setRemoving(null)}>
                      Keep
                    </button>
                  </div>
                ) : (
                  <button type="button" className="button" onClick={() => setRemoving(b.id)}>
                    Remove…
                    <span className="sr-only">
                      {" "}
                      {b.principal}'s {b.role} role in {b.domain}
                    </span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddBinding({ domains }: { domains: string[] }) {
  const [principal, setPrincipal] = useState("");
  const [role, setRole] = useState("");
  const [domain, setDomain] = useState("");
  const [added, setAdded] = useState<RoleBinding | null>(null);
  const listId = useId();
  const qc = useQueryClient();
  const rbac = useQuery(PolicyService.method.getRBACPolicy, {});
  const people = useQuery(IdentityService.method.listPrincipals, { pageSize: 500 });
  const create = useMutation(IdentityService.method.createRoleBinding, {
    onSuccess: (res) => {
      setAdded(res.roleBinding ?? null);
      setPrincipal("");
      void qc.invalidateQueries();
    },
  });
  const err = create.error ? describeError(create.error) : null;
  const global = GLOBAL_ROLES.includes(role);
  const effectiveDomain = global ? "*" : domain;
  return (
    <form
      className="card"
      aria-labelledby={listId + "-h"}
      onSubmit={(e) => {
        e.preventDefault();
        setAdded(null);
        create.mutate({ principal: principal.trim(), role, domain: effectiveDomain });
      }}
    >
      <h3 id={listId + "-h"}>Add a role binding</h3>
      {added && (
        <Notice tone="success">
          {added.principal} now holds {added.role} in {added.domain === "*" ? "every domain" : added.domain}.
        </Notice>
      )}
      <Field label="Principal" help="The user or service account name, exactly as it signs in." errors={violationsFor(err, "principal")}>
        {(id, d) => (
          <>
            <input id={id} aria-describedby={d} list={listId} value={principal} onChange={(e) => setPrincipal(e.target.value)} autoComplete="off" required />
            <datalist id={listId}>
              {people.data?.principals.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.kind === PrincipalKind.SERVICE_ACCOUNT ? `service account of ${p.domain}` : p.displayName || "user"}
                </option>
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field
        label="Role"
        help="What they may do: domain-owner runs a domain, domain-member edits drafts, viewer reads; platform-admin and governance-officer hold in every domain."
        errors={violationsFor(err, "role")}
      >
        {(id, d) => (
          <select id={id} aria-describedby={d} value={role} onChange={(e) => setRole(e.target.value)} required>
            <option value="">Choose a role</option>
            {(rbac.data?.roles ?? []).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Domain"
        help={global ? `${role} is a global role: it is always bound in every domain (*).` : "Where the role holds. Every domain (*) needs the right to bind roles everywhere."}
        errors={violationsFor(err, "domain")}
      >
        {(id, d) => (
          <select id={id} aria-describedby={d} value={effectiveDomain} disabled={global} onChange={(e) => setDomain(e.target.value)} required>
            <option value="">Choose a domain</option>
            <option value="*">every domain (*)</option>
            {domains.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        )}
      </Field>
      <ErrorBanner error={unpinned(err, (f) => f === "principal" || f === "role" || f === "domain")} title="The binding was not added" />
      <button type="submit" className="button primary" disabled={create.isPending || !principal.trim() || !role || !effectiveDomain}>
        {create.isPending ? "Adding…" : "Add role binding"}
      </button>
    </form>
  );
}
