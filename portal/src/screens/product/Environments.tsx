// Environments: where the product runs — the version applied in each
// environment, its drift there — and the way a version moves on: planned
// where an environment takes plans, promoted where it takes promotions only.
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { ProvisioningService, type Deployment, type Environment } from "../../gen/meshplane/v1/provisioning_pb";
import { describeError } from "../../lib/api";
import { navigate } from "../../lib/router";
import { Badge, ErrorBanner, Loading } from "../../lib/ui";

import { TableScroll } from "./common";

export function Environments({ p, canChange }: { p: DataProduct; canChange: boolean }) {
  const envs = useQuery(ProvisioningService.method.listEnvironments, {});
  const deps = useQuery(ProvisioningService.method.listDeployments, { domain: p.domain, product: p.name });
  const qc = useQueryClient();
  const toRun = (id: string | undefined) => {
    void qc.invalidateQueries();
    if (id) navigate(`/runs/${encodeURIComponent(id)}`);
  };
  const plan = useMutation(ProvisioningService.method.plan, { onSuccess: (r) => toRun(r.run?.id) });
  const promote = useMutation(ProvisioningService.method.promote, { onSuccess: (r) => toRun(r.run?.id) });
  if (envs.isPending || deps.isPending) return <Loading what="Loading environments" />;
  if (envs.error) return <ErrorBanner error={describeError(envs.error)} title="The environments could not be loaded" />;
  if (deps.error) return <ErrorBanner error={describeError(deps.error)} title="The deployments could not be loaded" />;
  const byEnv = new Map<string, Deployment>(deps.data.deployments.map((d) => [d.environment, d]));
  const applied = (env: string) => byEnv.get(env)?.provisionedVersion ?? 0n;
  const busy = plan.isPending || promote.isPending;
  return (
    <>
      <p className="muted">
        Each environment has its own Kafka and Kafka Connect, its own rules and its own runs. A version reaches an environment that takes
        promotions only once it is applied in the one before.
      </p>
      {plan.error && <ErrorBanner error={describeError(plan.error)} title="The plan could not be queued" />}
      {promote.error && <ErrorBanner error={describeError(promote.error)} title="The promotion could not be planned" />}
      <TableScroll label="The product in each environment">
        <table>
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col">Applied</th>
              <th scope="col">Rules</th>
              <th scope="col">Next step</th>
            </tr>
          </thead>
          <tbody>
            {envs.data.environments.map((e) => (
              <tr key={e.name}>
                <th scope="row">
                  {e.name} {e.default && <Badge>default</Badge>} {e.access && <Badge>consumer access</Badge>} {e.sandbox && <Badge>sandbox</Badge>}
                </th>
                <td>
                  {applied(e.name) > 0n ? (
                    <>
                      version {applied(e.name).toString()}{" "}
                      {applied(e.name) === p.version ? <Badge tone="good">current</Badge> : <Badge tone="warn">behind</Badge>}
                      {(byEnv.get(e.name)?.drift.length ?? 0) > 0 && (
                        <span className="product-block">
                          <Badge tone="bad">{byEnv.get(e.name)?.drift.length} drifted</Badge>
                        </span>
                      )}
                    </>
                  ) : (
                    <span className="muted">not provisioned</span>
                  )}
                </td>
                <td>
                  <Rules e={e} />
                </td>
                <td>
                  {!canChange ? (
                    <span className="muted">—</span>
                  ) : e.promoteFrom.length === 0 ? (
                    <button
                      type="button"
                      className="button"
                      disabled={busy}
                      onClick={() => plan.mutate({ domain: p.domain, product: p.name, environment: e.name })}
                    >
                      Plan in {e.name}
                    </button>
                  ) : (
                    e.promoteFrom.map((from) =>
                      applied(from) === p.version ? (
                        <button
                          key={from}
                          type="button"
                          className="button"
                          disabled={busy}
                          onClick={() => promote.mutate({ domain: p.domain, product: p.name, from, to: e.name })}
                        >
                          Promote version {p.version.toString()} from {from}
                        </button>
                      ) : (
                        <span key={from} className="muted product-block">
                          apply version {p.version.toString()} in {from} to promote it here
                        </span>
                      ),
                    )
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

/** Rules lists an environment's policy parameters and replication. */
function Rules({ e }: { e: Environment }) {
  const params = Object.entries(e.parameters ?? {});
  return (
    <ul className="plain">
      <li>{e.replicationFactor} replicas per partition</li>
      {e.promoteFrom.length > 0 && <li>takes versions promoted from {e.promoteFrom.join(", ")}</li>}
      {params
        .filter(([k]) => k !== "replicationFactor")
        .map(([k, v]) => (
          <li key={k}>
            <code>{k}</code>: {JSON.stringify(v)}
          </li>
        ))}
    </ul>
  );
}
