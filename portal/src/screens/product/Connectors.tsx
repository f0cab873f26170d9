// Connectors: the product's Kafka Connect connectors as the data plane
// reports them now, each beside the run that last changed it, with restart,
// pause and resume for those allowed to operate them.
import { useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import type { DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { ConnectorState, ProvisioningService, type Connector } from "../../gen/meshplane/v1/provisioning_pb";
import { describeError } from "../../lib/api";
import { Link } from "../../lib/router";
import { Badge, ErrorBanner, Loading, type Tone } from "../../lib/ui";

import { Mono, TableScroll } from "./common";
import { shortId } from "./format";

export const connectorStateWords: Record<ConnectorState, string> = {
  [ConnectorState.UNSPECIFIED]: "unknown state",
  [ConnectorState.RUNNING]: "running",
  [ConnectorState.PAUSED]: "paused",
  [ConnectorState.FAILED]: "failed",
  [ConnectorState.UNASSIGNED]: "unassigned",
  [ConnectorState.STOPPED]: "stopped",
  [ConnectorState.RESTARTING]: "restarting",
  [ConnectorState.NOT_DEPLOYED]: "not deployed",
};

const tones: Record<ConnectorState, Tone> = {
  [ConnectorState.UNSPECIFIED]: "neutral",
  [ConnectorState.RUNNING]: "good",
  [ConnectorState.PAUSED]: "warn",
  [ConnectorState.FAILED]: "bad",
  [ConnectorState.UNASSIGNED]: "warn",
  [ConnectorState.STOPPED]: "neutral",
  [ConnectorState.RESTARTING]: "info",
  [ConnectorState.NOT_DEPLOYED]: "neutral",
};

/** overallState is the state a person should see first: a failed task outranks a running connector. */
export function overallState(c: Pick<Connector, "state" | "tasks">): ConnectorState {
  if (c.state === ConnectorState.RUNNING && c.tasks.some((t) => t.state === ConnectorState.FAILED)) return ConnectorState.FAILED;
  return c.state;
}

export function Connectors({ p, canOperate }: { p: DataProduct; canOperate: boolean }) {
  const q = useQuery(ProvisioningService.method.listConnectors, { domain: p.domain, product: p.name }, { refetchInterval: 10_000 });
  // One error at a time: the last operation's, cleared by the next one.
  const [failure, setFailure] = useState<unknown>(null);
  const settle = {
    onMutate: () => setFailure(null),
    onError: (e: unknown) => setFailure(e),
    onSettled: () => void q.refetch(),
  };
  const restart = useMutation(ProvisioningService.method.restartConnector, settle);
  const pause = useMutation(ProvisioningService.method.pauseConnector, settle);
  const resume = useMutation(ProvisioningService.method.resumeConnector, settle);
  const busy = restart.isPending || pause.isPending || resume.isPending;

  return (
    <section className="card" aria-labelledby="connectors-h">
      <h2 id="connectors-h">Connectors</h2>
      <p className="muted">As Kafka Connect reports them now, with the applied run that last changed each.</p>
      {q.isPending && <Loading what="Asking Kafka Connect" />}
      {q.error && <ErrorBanner error={describeError(q.error)} title="Kafka Connect could not be asked" />}
      {failure !== null && (
        <ErrorBanner error={describeError(failure)} title="Kafka Connect did not confirm the operation: the table shows the state now" />
      )}
      {q.data && (
        <TableScroll label="Connectors of this product">
          <table>
            <thead>
              <tr>
                <th scope="col">Connector</th>
                <th scope="col">State</th>
                <th scope="col">Changed by</th>
                {canOperate && <th scope="col">Operate</th>}
              </tr>
            </thead>
            <tbody>
              {q.data.connectors.map((c) => {
                const target = { domain: p.domain, product: p.name, role: c.role };
                const deployed = c.state !== ConnectorState.NOT_DEPLOYED;
                const errors = [
                  c.state === ConnectorState.FAILED ? c.trace : "",
                  ...c.tasks.filter((t) => t.state === ConnectorState.FAILED).map((t) => `task ${t.id}: ${t.trace}`),
                ].filter(Boolean);
                return (
                  <tr key={c.name}>
                    <th scope="row">
                      {c.role === "source" ? "Source" : `Sink ${c.role}`}
                      <span className="product-block">
                        <Mono>{c.name}</Mono>
                      </span>
                    </th>
                    <td>
                      <Badge tone={tones[overallState(c)]}>{connectorStateWords[overallState(c)]}</Badge>
                      {c.tasks.length > 0 && (
                        <span className="muted product-block">
                          {c.tasks.map((t) => `task ${t.id} ${connectorStateWords[t.state]}`).join(", ")}
                        </span>
                      )}
                      {errors.length > 0 && (
                        <details>
                          <summary>Last error</summary>
                          <pre className="product-error-text">{errors.join("\n\n")}</pre>
                        </details>
                      )}
                    </td>
                    <td>
                      {c.lastRunId ? (
                        <Link to={`/runs/${encodeURIComponent(c.lastRunId)}`}>run {shortId(c.lastRunId)}</Link>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    {canOperate && (
                      <td>
                        {deployed && (
                          <div className="row">
                            <button type="button" className="button" disabled={busy} onClick={() => restart.mutate(target)}>
                              Restart
                            </button>
                            {c.state === ConnectorState.PAUSED ? (
                              <button type="button" className="button" disabled={busy} onClick={() => resume.mutate(target)}>
                                Resume
                              </button>
                            ) : (
                              <button type="button" className="button" disabled={busy} onClick={() => pause.mutate(target)}>
                                Pause
                              </button>
                            )}
                          </div>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
