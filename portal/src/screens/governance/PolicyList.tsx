// The list of policy modules and the form that creates a new one.
import { useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { PolicyService } from "../../gen/meshplane/v1/policy_pb";
import { describeError, violationsFor } from "../../lib/api";
import { Link, navigate } from "../../lib/router";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Page, When, dateOf } from "../../lib/ui";

import "./governance.css";

/** What each built-in module decides, for people new to them. */
export const MODULE_PURPOSE: Record<string, string> = {
  admission: "Decides whether a data product may be registered or provisioned (every field classified, PII kept short, …).",
  masking: "Decides how each field's values leave the source: kept, hashed, masked, truncated or dropped.",
  access: "Decides who must approve a consumer's access request, and for how long access may last.",
};

/** newModuleFiles is the starting draft of a new module: a policy file and a test file. */
export function newModuleFiles(name: string): Record<string, string> {
  return {
    [`${name}.rego`]:
      `# ${name}: say here what this module decides.\n` +
      `# Nothing evaluates it until it is published.\n` +
      `package meshplane.${name}\n\n` +
      `# An example rule; replace it with your own.\n` +
      `enabled := true\n`,
    [`${name}_test.rego`]:
      `package meshplane.${name}_test\n\n` +
      `# Publishing needs at least one passing test of the module's own.\n` +
      `test_enabled if data.meshplane.${name}.enabled\n`,
  };
}

export function PolicyList() {
  const list = useQuery(PolicyService.method.listPolicyModules, {});
  const err = list.error ? describeError(list.error) : null;
  return (
    <Page
      title="Policies"
      description="Rego policies decide which data products are admitted, how each field is masked and who approves access. Edit a module's draft, test it, check its impact on every product, then publish it."
    >
      <ErrorBanner error={err} title="The policy modules could not be loaded" />
      {list.isPending && <Loading what="Loading policy modules" />}
      {list.data && list.data.modules.length === 0 && (
        <EmptyState title="No policy modules yet">Create the first module below.</EmptyState>
      )}
      {list.data && list.data.modules.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Policy modules</caption>
            <thead>
              <tr>
                <th scope="col">Module</th>
                <th scope="col">What it decides</th>
                <th scope="col">In force</th>
                <th scope="col">Draft</th>
                <th scope="col">Draft last saved</th>
              </tr>
            </thead>
            <tbody>
              {list.data.modules.map((m) => (
                <tr key={m.name}>
                  <td>
                    <Link to={`/governance/policies/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                  </td>
                  <td>{m.description || MODULE_PURPOSE[m.name] || <span className="muted">No description</span>}</td>
                  <td>
                    {m.publishedVersion > 0 ? (
                      <Badge tone="good">version {m.publishedVersion}</Badge>
                    ) : (
                      <Badge tone="warn">never published</Badge>
                    )}
                  </td>
                  <td>
                    {m.draftChanged ? (
                      <Badge tone="info">changed, not published</Badge>
                    ) : (
                      <span className="muted">same as in force</span>
                    )}
                  </td>
                  <td>
                    <When date={dateOf(m.updateTime)} />
                    {m.draftUpdatedBy && <span className="muted"> by {m.draftUpdatedBy}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateModule />
    </Page>
  );
}

function CreateModule() {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const qc = useQueryClient();
  const create = useMutation(PolicyService.method.createPolicyModule, {
    onSuccess: (res) => {
      void qc.invalidateQueries();
      navigate(`/governance/policies/${encodeURIComponent(res.module?.name ?? name)}`);
    },
  });
  const err = create.error ? describeError(create.error) : null;
  const shown = err && err.violations.every((v) => v.field === "name" || v.field === "description") && err.violations.length > 0;
  return (
    <section className="card" aria-labelledby="create-module-h">
      <h2 id="create-module-h">Create a module</h2>
      <p className="muted">
        A new module starts as a draft with an example policy file and a test file. It has no effect until you publish it; other
        modules can then use its rules as <code>data.meshplane.&lt;name&gt;</code>.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name: name.trim(), description: description.trim(), files: newModuleFiles(name.trim()) });
        }}
      >
        <Field
          label="Module name"
          help="Lower-case letters and digits, starting with a letter (for example “retention”). Its files are named after it."
          errors={violationsFor(err, "name")}
        >
          {(id, d) => <input id={id} aria-describedby={d} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" required />}
        </Field>
        <Field label="Description" help="One sentence other officers will read in the list above." errors={violationsFor(err, "description")}>
          {(id, d) => <input id={id} aria-describedby={d} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        {!shown && <ErrorBanner error={err} title="The module was not created" />}
        <button className="button primary" type="submit" disabled={create.isPending || !name.trim()}>
          {create.isPending ? "Creating…" : "Create module"}
        </button>
      </form>
    </section>
  );
}
