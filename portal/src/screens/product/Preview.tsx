// Masked preview: the newest records of each port, read as the signed-in
// person and masked for them, with what they see of each field and why.
import { useId, useState } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService, Classification, type DataProduct, type OutputPort, type PreviewRecord } from "../../gen/meshplane/v1/catalog_pb";
import { PolicyService, type MaskingDecision } from "../../gen/meshplane/v1/policy_pb";
import { describeError } from "../../lib/api";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, When, dateOf } from "../../lib/ui";
import { ClassBadge, productPath } from "../catalog/model";
import { EnvironmentField, useEnvironmentChoice } from "../access/RequestForm";
import { TableScroll } from "./common";
import { compactKey, explainField, newestFirst, previewRow, shownTone, topicDecision } from "./format";

export function Preview({ p }: { p: DataProduct }) {
  const ev = useQuery(PolicyService.method.evaluateDataProduct, { domain: p.domain, name: p.name });
  const env = useEnvironmentChoice();
  if (p.ports.length === 0) {
    return (
      <EmptyState title="No output ports to preview" action={{ to: productPath(p.domain, p.name, "edit"), label: "Add a port" }}>
        Add a port and provision the product; its newest records then show here.
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted">
        The newest records of each port, read now with <strong>your</strong> access: what you see here is what you would see as a
        consumer. Masking happens twice — the connectors mask at the source as the policy decides, then your own rights decide
        whether personal data is shown raw, as a pseudonym, or not at all.
      </p>
      {env.several && (
        <EnvironmentField
          environments={env.environments}
          value={env.value}
          onChange={env.choose}
          help="Each environment is its own Kafka cluster: the records are read from the one chosen."
          errors={[]}
        />
      )}
      {ev.error && <ErrorBanner error={describeError(ev.error)} title="The masking decisions could not be read" />}
      {p.ports.map((port) => (
        <PortPreview key={port.name} p={p} port={port} environment={env.value} decisions={ev.data?.masking} />
      ))}
    </>
  );
}

const limits = [10, 25, 50, 100];

function PortPreview({
  p,
  port,
  environment,
  decisions,
}: {
  p: DataProduct;
  port: OutputPort;
  environment: string;
  decisions: MaskingDecision[] | undefined;
}) {
  const id = useId();
  const [limit, setLimit] = useState(10);
  const q = useQuery(
    CatalogService.method.getPortPreview,
    { domain: p.domain, product: p.name, port: port.name, limit, environment },
    { retry: false, staleTime: 30_000 },
  );
  const err = q.error ? describeError(q.error) : null;
  const data = q.data;
  const fields = port.fields.map((f) => f.name);
  return (
    <section className="card" aria-labelledby={id}>
      <div className="row product-spread">
        <h2 id={id}>
          Port <span className="mono">{port.name}</span>
        </h2>
        <div className="row product-preview-controls">
          <Field label={`Records to read from ${port.name}`}>
            {(fid) => (
              <select id={fid} value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
                {limits.map((n) => (
                  <option key={n} value={n}>
                    {n} newest
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="button" className="button" onClick={() => void q.refetch()} disabled={q.isFetching}>
            {q.isFetching ? "Reading…" : `Read ${port.name} again`}
          </button>
        </div>
      </div>

      {q.isPending && <Loading what={`Reading the newest records of ${port.topic}`} />}
      {err &&
        (err.reason === "TOPIC_NOT_FOUND" ? (
          <Notice>
            The topic <code>{port.topic}</code> does not exist {environment ? `in ${environment} ` : ""}yet, so there is nothing to
            preview. Plan the product {environment ? `in ${environment} ` : ""}and approve the plan to create it.
          </Notice>
        ) : (
          <ErrorBanner error={err} title={`The records of ${port.name} could not be read`} />
        ))}

      {data && (
        <>
          <p>
            {data.rawPii && port.fields.some((f) => f.classification === Classification.PII) ? (
              <>
                <Badge tone="pii">raw personal data</Badge> You may read personal data, so you see each field as the topic holds it.
                This read was recorded in the audit log.
              </>
            ) : data.rawPii ? (
              <>
                <Badge tone="info">full access</Badge> You may read personal data; this port declares none, so you see each field as the
                topic holds it.
              </>
            ) : (
              <>
                <Badge tone="info">masked for you</Badge> You may not read personal data: PII is shown as a pseudonym and sensitive or
                unclassified fields are withheld.
              </>
            )}
          </p>
          {data.incomplete && (
            <Notice tone="warning">
              The read was incomplete: the topic could not be read to its end in time, so these are the newest of the records that were
              read — newer ones may exist.
            </Notice>
          )}
          <h3>What you see of each field</h3>
          <TableScroll label={`What you see of each field of port ${port.name}`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Classification</th>
                  <th scope="col">You see</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {port.fields.map((f) => {
                  const view = explainField(f, topicDecision(decisions, port.name, f.name), data.rawPii);
                  return (
                    <tr key={f.name}>
                      <th scope="row" className="product-field-name mono">
                        {f.name}
                      </th>
                      <td>
                        <ClassBadge c={f.classification} />
                      </td>
                      <td>
                        <Badge tone={shownTone[view.shown]}>{view.shown}</Badge>
                      </td>
                      <td>{view.why}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
          <h3>Newest records</h3>
          {data.records.length === 0 ? (
            <p className="product-empty-note">
              The topic <code>{data.topic}</code> is empty: nothing has been published to it yet. Records appear once the source connector
              captures changes from <code>{port.table || "the source table"}</code>.
            </p>
          ) : (
            <Records
              records={data.records}
              fields={fields}
              port={port.name}
              withheld={port.fields.filter((f) => explainField(f, topicDecision(decisions, port.name, f.name), data.rawPii).shown === "withheld").map((f) => f.name)}
            />
          )}
        </>
      )}
    </section>
  );
}

function Records(props: { records: PreviewRecord[]; fields: string[]; port: string; withheld: string[] }) {
  const { records, fields, port, withheld } = props;
  const rows = newestFirst(records).map((r) => ({ r, row: previewRow(r.value, fields) }));
  const extras = [...new Set(rows.flatMap(({ row }) => Object.keys(row.extra)))];
  const anyOp = rows.some(({ row }) => row.op);
  const anyNote = rows.some(({ r, row }) => r.note || row.raw !== null);
  return (
    <TableScroll label={`Newest records of port ${port}`}>
      <table className="product-records">
        <caption className="catalog-sr-only">
          {records.length} newest record{records.length === 1 ? "" : "s"} of port {port}, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">Written</th>
            <th scope="col">Partition / offset</th>
            <th scope="col">Key</th>
            {anyOp && <th scope="col">Change</th>}
            {fields.map((f) => (
              <th scope="col" key={f} className="mono">
                {f}
              </th>
            ))}
            {extras.map((f) => (
              <th scope="col" key={"x-" + f} className="mono">
                {f} <span className="muted">(not declared)</span>
              </th>
            ))}
            {anyNote && <th scope="col">Notes</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map(({ r, row }) => (
            <tr key={`${r.partition}-${r.offset}`}>
              <td>
                <When date={dateOf(r.timestamp)} />
              </td>
              <td className="mono">
                {r.partition} / {String(r.offset)}
              </td>
              <td className="mono">{compactKey(r.key) || <span className="muted">none</span>}</td>
              {anyOp && <td>{row.op || <span className="muted">—</span>}</td>}
              {fields.map((f) =>
                f in row.cells ? (
                  <td key={f} className="mono product-record-cell">
                    {row.cells[f]}
                  </td>
                ) : (
                  <td key={f}>
                    <span className="product-withheld">{r.maskedFields.includes(f) || withheld.includes(f) ? "withheld" : row.raw !== null ? "—" : "absent"}</span>
                  </td>
                ),
              )}
              {extras.map((f) => (
                <td key={"x-" + f} className="mono product-record-cell">
                  {row.extra[f] ?? ""}
                </td>
              ))}
              {anyNote && (
                <td>
                  {r.note}
                  {row.raw !== null && r.value !== "null" && (
                    <span className="product-block">
                      Not a record of fields: <code>{row.raw}</code>
                    </span>
                  )}
                  {r.value === "null" && !r.note && <span className="product-block">No value: a deletion marker (tombstone).</span>}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
