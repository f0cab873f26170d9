// Ports & schema: each output port's topic and settings, and its fields with
// their classification and the masking the published policy decides for them.
import { useId } from "react";
import { useQuery } from "@connectrpc/connect-query";
import type { DataProduct, OutputPort } from "../../gen/meshplane/v1/catalog_pb";
import { PolicyService, type EvaluateDataProductResponse } from "../../gen/meshplane/v1/policy_pb";
import { describeError } from "../../lib/api";
import { Badge, EmptyState, ErrorBanner, Loading } from "../../lib/ui";
import { ClassBadge, productPath } from "../catalog/model";
import { Facts, Mono, TableScroll } from "./common";
import { cleanupWords, decisionDetail, decisionTone, decisionWord, fieldTypeWords, policyPart, retention, sinkDecisionText, topicDecision } from "./format";

export function Ports({ p }: { p: DataProduct }) {
  const ev = useQuery(PolicyService.method.evaluateDataProduct, { domain: p.domain, name: p.name });
  if (p.ports.length === 0) {
    return (
      <EmptyState title="No output ports yet" action={{ to: productPath(p.domain, p.name, "edit"), label: "Add a port" }}>
        A port is a Kafka topic this product publishes, with the fields each record carries.
      </EmptyState>
    );
  }
  const masking = policyPart(ev.data?.policyVersion ?? "", "masking");
  return (
    <>
      {ev.isPending && <Loading what="Asking the policy how each field is masked" />}
      {ev.error && <ErrorBanner error={describeError(ev.error)} title="The masking decisions could not be read" />}
      {ev.data && (
        <p className="muted">
          The masking column is what the published policy <strong>{masking}</strong> decides for each field before it reaches Kafka;
          the connectors enforce it, so the topic never holds more.
        </p>
      )}
      {p.ports.map((port) => (
        <PortCard key={port.name} port={port} ev={ev.data} />
      ))}
    </>
  );
}

function PortCard({ port, ev }: { port: OutputPort; ev: EvaluateDataProductResponse | undefined }) {
  const id = useId();
  const masking = policyPart(ev?.policyVersion ?? "", "masking");
  const keys = port.fields.filter((f) => f.key).map((f) => f.name);
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>
        Port <span className="mono">{port.name}</span>
      </h2>
      {port.description && <p>{port.description}</p>}
      <Facts
        items={[
          ["Topic", <Mono>{port.topic || "assigned when the product is saved"}</Mono>],
          ["Source table", port.table ? <Mono>{port.table}</Mono> : <span className="muted">not set</span>],
          ["Partitions", port.partitions ? `${port.partitions} (how many consumers can read in parallel)` : <span className="muted">default</span>],
          ["Keeps records for", retention(port.retentionMs)],
          ["Clean-up", cleanupWords[port.cleanupPolicy]],
          ["Record key", keys.length ? keys.join(", ") : <span className="muted">none declared</span>],
        ]}
      />
      <h3>Fields</h3>
      {port.fields.length === 0 ? (
        <p className="muted">This port declares no fields yet.</p>
      ) : (
        <TableScroll label={`Fields of port ${port.name}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Type</th>
                <th scope="col">Can be empty</th>
                <th scope="col">Classification</th>
                <th scope="col">Tags</th>
                <th scope="col">Key</th>
                <th scope="col">Masking before Kafka</th>
              </tr>
            </thead>
            <tbody>
              {port.fields.map((f) => {
                const d = topicDecision(ev?.masking, port.name, f.name);
                const inSinks = (ev?.masking ?? []).filter((m) => m.port === port.name && m.field === f.name && m.sink !== "");
                return (
                  <tr key={f.name}>
                    <th scope="row" className="product-field-name">
                      <span className="mono">{f.name}</span>
                      {f.description && <span className="muted product-block">{f.description}</span>}
                    </th>
                    <td>{fieldTypeWords[f.type]}</td>
                    <td>{f.nullable ? "yes" : "no"}</td>
                    <td>
                      <ClassBadge c={f.classification} />
                    </td>
                    <td>{f.tags.length ? f.tags.join(", ") : <span className="muted">—</span>}</td>
                    <td>{f.key ? <strong>key — stays unmasked</strong> : <span className="muted">—</span>}</td>
                    <td>
                      {ev ? (
                        <>
                          <Badge tone={decisionTone(d)}>{decisionWord(d)}</Badge> {decisionDetail(d)}
                          {d?.reason && <span className="muted product-block">{d.reason}</span>}
                          <span className="muted product-block">decided by {masking}</span>
                          {inSinks.map((m) => (
                            <span key={m.sink} className="product-block">
                              In sink <span className="mono">{m.sink}</span>: {sinkDecisionText(m)}
                            </span>
                          ))}
                        </>
                      ) : (
                        <span className="muted">not known</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
      {keys.length > 0 && (
        <p className="muted product-small">
          Key fields reach Kafka unmasked because the Debezium connector writes record keys as they are; that is why a key may not hold
          personal or sensitive data.
        </p>
      )}
    </section>
  );
}
