// Sinks: where the product's ports are delivered besides Kafka, with each
// sink's settings and any masking stricter than the topic's.
import { useId, type ReactNode } from "react";
import { useQuery } from "@connectrpc/connect-query";
import type { DataProduct, Sink } from "../../gen/meshplane/v1/catalog_pb";
import { PolicyService, type MaskingDecision } from "../../gen/meshplane/v1/policy_pb";
import { describeError } from "../../lib/api";
import { Badge, EmptyState, ErrorBanner } from "../../lib/ui";
import { productPath } from "../catalog/model";
import { Facts, Mono, TableScroll } from "./common";
import { duration, policyPart, sinkDecisionText } from "./format";

const kindWords: Record<string, string> = {
  bigquery: "BigQuery",
  s3: "Amazon S3",
  jdbc: "Database (JDBC)",
  elasticsearch: "Elasticsearch",
};

const none = <span className="muted">not set</span>;

/** sinkFacts lists a sink's typed settings in words. */
function sinkFacts(s: Sink): [string, ReactNode][] {
  const k = s.kind;
  switch (k.case) {
    case "bigquery":
      return [
        ["Project", <Mono>{k.value.project}</Mono>],
        ["Dataset", <Mono>{k.value.dataset}</Mono>],
        ["Credentials from", k.value.credentialsRef ? <Mono>{k.value.credentialsRef}</Mono> : none],
      ];
    case "s3":
      return [
        ["Bucket", <Mono>{k.value.bucket}</Mono>],
        ["Region", k.value.region || none],
        ["Prefix", k.value.prefix ? <Mono>{k.value.prefix}</Mono> : none],
        ["File format", k.value.format || "the connector's default"],
        ["Records per file", k.value.flushSize ? String(k.value.flushSize) : "the connector's default"],
        ["New file every", k.value.rotateIntervalMs ? duration(Number(k.value.rotateIntervalMs)) : "the connector's default"],
        ["Credentials from", k.value.credentialsRef ? <Mono>{k.value.credentialsRef}</Mono> : "the workers' own"],
      ];
    case "jdbc":
      return [
        ["Database URL", <Mono>{k.value.url}</Mono>],
        ["User", k.value.username || none],
        ["Password from", k.value.secretRef ? <Mono>{k.value.secretRef}</Mono> : none],
        ["Writes by", k.value.insertMode || "insert"],
        ["Primary key fields", k.value.primaryKeyFields.length ? k.value.primaryKeyFields.join(", ") : none],
        ["Deletes rows on delete events", k.value.deleteEnabled ? "yes" : "no"],
      ];
    case "elasticsearch":
      return [
        ["URL", <Mono>{k.value.url}</Mono>],
        ["User", k.value.username || none],
        ["Password from", k.value.secretRef ? <Mono>{k.value.secretRef}</Mono> : none],
        ["Index prefix", k.value.indexPrefix ? <Mono>{k.value.indexPrefix}</Mono> : none],
      ];
    default:
      return [["Kind", <span className="muted">not set</span>]];
  }
}

export function Sinks({ p }: { p: DataProduct }) {
  const ev = useQuery(PolicyService.method.evaluateDataProduct, { domain: p.domain, name: p.name });
  if (p.sinks.length === 0) {
    return (
      <EmptyState title="No sinks" action={{ to: productPath(p.domain, p.name, "edit"), label: "Add a sink" }}>
        This product publishes only to Kafka. A sink delivers ports to BigQuery, S3, a database or Elasticsearch.
      </EmptyState>
    );
  }
  return (
    <>
      {ev.error && <ErrorBanner error={describeError(ev.error)} title="The masking decisions could not be read" />}
      {p.sinks.map((s) => (
        <SinkCard key={s.name} s={s} p={p} decisions={ev.data?.masking.filter((d) => d.sink === s.name)} policy={ev.data?.policyVersion ?? ""} />
      ))}
    </>
  );
}

function SinkCard({ s, p, decisions, policy }: { s: Sink; p: DataProduct; decisions: MaskingDecision[] | undefined; policy: string }) {
  const id = useId();
  const ports = s.ports.length ? s.ports : p.ports.map((x) => x.name);
  const stricter = (decisions ?? []).filter((d) => d.action !== "allow");
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>
        Sink <span className="mono">{s.name}</span> <Badge tone="info">{kindWords[s.kind.case ?? ""] ?? "unknown kind"}</Badge>
      </h2>
      <Facts
        items={[
          ["Delivers", s.ports.length ? ports.join(", ") : `every port (${ports.join(", ") || "none yet"})`],
          ...sinkFacts(s),
        ]}
      />
      <h3>Masking in this sink</h3>
      {decisions === undefined ? (
        <p className="muted">Not known yet.</p>
      ) : stricter.length === 0 ? (
        <p className="muted">The same as the topic: the sink receives exactly what the topic holds.</p>
      ) : (
        <>
          <p>
            The policy <strong>{policyPart(policy, "masking")}</strong> masks these fields further before they reach this sink:
          </p>
          <TableScroll label={`Masking in sink ${s.name}`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Port</th>
                  <th scope="col">Field</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {stricter.map((d) => (
                  <tr key={d.port + "/" + d.field}>
                    <td className="mono">{d.port}</td>
                    <th scope="row" className="mono product-field-name">
                      {d.field}
                    </th>
                    <td>
                      {sinkDecisionText(d)}
                      {d.reason && <span className="muted product-block">{d.reason}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
      <p className="muted product-small">Secrets are never stored: the connector reads them from the places named above when it starts.</p>
    </section>
  );
}
