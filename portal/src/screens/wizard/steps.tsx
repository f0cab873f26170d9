// The wizard's simpler steps: basics, source, tables and sinks.
import { useId } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../../gen/meshplane/v1/catalog_pb";
import { describeError } from "../../lib/api";
import { ErrorBanner, Loading } from "../../lib/ui";
import { emptySink, sinkKinds, uid, type Draft, type SinkDraft, type SinkKind } from "./draft";
import { GroupErrors, SelectField, TextArea, TextField, useProblems } from "./form";

export type Update = (fn: (d: Draft) => void) => void;

const REF_HELP = (
  <>
    Where the connector finds the password, written as a <em>reference</em>, never the password itself:{" "}
    <code>env:NAME</code> (an environment variable of the Kafka Connect workers), <code>file:/path/to/file:key</code> (a
    key in a properties file on the workers) or <code>vault:path:key</code>. meshplane stores only the reference. The
    admission policy keeps each domain to its own secrets: by default <code>env:DOMAIN__NAME</code> (the domain in
    capitals, then two underscores), <code>file:/etc/meshplane/secrets/domain/…:key</code> or{" "}
    <code>vault:secret/data/domain/…:key</code>.
  </>
);

/** exampleRef suggests a secret reference in a domain's own namespace. */
export function exampleRef(domain: string, name = "DB_PASSWORD"): string {
  const d = (domain || "sales").toUpperCase().replace(/-/g, "_");
  return `env:${d}__${name}`;
}

export function BasicsStep({ draft, update, editing }: { draft: Draft; update: Update; editing: boolean }) {
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 }, { enabled: !editing });
  const problems = useProblems();
  const labelErrors = problems.at("spec.labels");
  const labelsHelpId = useId();
  return (
    <>
      {editing ? (
        <dl className="facts">
          <div>
            <dt>Domain</dt>
            <dd>{draft.domain}</dd>
          </div>
          <div>
            <dt>Name</dt>
            <dd>{draft.name}</dd>
          </div>
        </dl>
      ) : (
        <div className="grid2">
          <div>
            {domains.isPending ? (
              <Loading what="Loading your domains" />
            ) : domains.error ? (
              <ErrorBanner error={describeError(domains.error)} title="Could not load the domains" />
            ) : domains.data.domains.length === 0 ? (
              <div className="empty">
                <p className="empty-title">You cannot register a product in any domain yet</p>
                <p className="muted">
                  A product belongs to a domain (a team's area, such as sales). Ask a platform admin to create your domain or to
                  add you to it, then come back.
                </p>
              </div>
            ) : (
              <SelectField
                label="Domain"
                help="The team area the product belongs to. Its owners review the product's plans."
                path="domain"
                value={draft.domain}
                placeholder="Choose a domain"
                options={domains.data.domains.map((d) => ({ value: d.name, label: d.description ? `${d.name} — ${d.description}` : d.name }))}
                onChange={(v) =>
                  update((d) => {
                    d.domain = v;
                  })
                }
              />
            )}
          </div>
          <TextField
            label="Product name"
            help="2 to 63 lower-case letters, digits and dashes, starting with a letter, e.g. orders. It becomes part of every topic name and cannot be changed later."
            path="name"
            value={draft.name}
            placeholder="orders"
            onChange={(v) =>
              update((d) => {
                d.name = v;
              })
            }
          />
        </div>
      )}
      <TextArea
        label="Description"
        help="What the product holds and who it is for, in a sentence or two. Consumers read this in the catalog."
        path="spec.description"
        value={draft.description}
        onChange={(v) =>
          update((d) => {
            d.description = v;
          })
        }
      />
      <TextField
        label="Owner"
        help="The person or team accountable for the product, as a user name or e-mail address, e.g. team-sales@example.com. Required when the product carries personal data."
        path="spec.owner"
        value={draft.owner}
        onChange={(v) =>
          update((d) => {
            d.owner = v;
          })
        }
      />
      <fieldset className="plain" aria-describedby={labelsHelpId}>
        <legend>Labels (optional)</legend>
        <p className="help" id={labelsHelpId}>
          Key–value tags for finding products, e.g. <code>tier</code> = <code>gold</code>. Keys are lower case; values are letters,
          digits, '.', '_' and '-'.
        </p>
        {draft.labels.map((l, i) => (
          <div className="row label-row" key={l.uid}>
            <TextField
              label={`Label ${i + 1} key`}
              path={`spec.labels["${l.key}"]`}
              exact
              value={l.key}
              onChange={(v) =>
                update((d) => {
                  d.labels[i].key = v;
                })
              }
            />
            <TextField
              label={`Label ${i + 1} value`}
              path={`spec.labels.value.${i}`}
              value={l.value}
              onChange={(v) =>
                update((d) => {
                  d.labels[i].value = v;
                })
              }
            />
            <button
              type="button"
              className="button ghost"
              onClick={() =>
                update((d) => {
                  d.labels.splice(i, 1);
                })
              }
            >
              Remove label {i + 1}
            </button>
          </div>
        ))}
        <GroupErrors
          messages={labelErrors.filter((m) => !draft.labels.some((l) => problems.exact(`spec.labels["${l.key}"]`).includes(m)))}
        />
        <button
          type="button"
          className="button"
          onClick={() =>
            update((d) => {
              d.labels.push({ uid: uid("l"), key: "", value: "" });
            })
          }
        >
          Add a label
        </button>
      </fieldset>
    </>
  );
}

export function SourceStep({ draft, update }: { draft: Draft; update: Update }) {
  const s = draft.source;
  const set = (k: keyof Draft["source"], v: string) =>
    update((d) => {
      (d.source as Record<string, string>)[k] = v;
    });
  return (
    <>
      <p className="muted lead">
        meshplane captures every change (insert, update, delete) of your operational database with Debezium, a change-data-capture
        connector, and publishes it to Kafka. Tell it where the database is and how to log in.
      </p>
      <SelectField
        label="Database kind"
        help="PostgreSQL needs logical replication enabled (wal_level = logical); MySQL needs the binary log in row format."
        path="spec.source.kind"
        value={s.kind}
        options={[
          { value: "postgres", label: "PostgreSQL" },
          { value: "mysql", label: "MySQL" },
        ]}
        onChange={(v) =>
          update((d) => {
            d.source.kind = v;
            if (d.source.port === "5432" && v === "mysql") d.source.port = "3306";
            if (d.source.port === "3306" && v === "postgres") d.source.port = "5432";
          })
        }
      />
      <div className="grid2">
        <TextField
          label="Host"
          help="The database server's host name or IP address, as the Kafka Connect workers reach it, e.g. orders-db.internal."
          path="spec.source.host"
          value={s.host}
          onChange={(v) => set("host", v)}
        />
        <TextField
          label="Port"
          help={s.kind === "mysql" ? "Usually 3306." : "Usually 5432."}
          path="spec.source.port"
          type="number"
          inputMode="numeric"
          min={1}
          max={65535}
          value={s.port}
          onChange={(v) => set("port", v)}
        />
        <TextField
          label="Database"
          help="The name of the database to capture, e.g. shop."
          path="spec.source.database"
          value={s.database}
          onChange={(v) => set("database", v)}
        />
        <TextField
          label="Username"
          help="The database user the connector logs in as. It needs replication rights and read access to the tables."
          path="spec.source.username"
          value={s.username}
          onChange={(v) => set("username", v)}
        />
      </div>
      <TextField
        label="Password reference"
        help={REF_HELP}
        path="spec.source.secretRef"
        placeholder={exampleRef(draft.domain)}
        value={s.secretRef}
        onChange={(v) => set("secretRef", v)}
      />
    </>
  );
}

export function TablesStep({ draft, update }: { draft: Draft; update: Update }) {
  const problems = useProblems();
  const example = draft.source.kind === "mysql" ? "shop.orders" : "public.orders";
  return (
    <>
      <p className="muted lead">
        List the tables whose changes the product publishes, each as{" "}
        {draft.source.kind === "mysql" ? (
          <>
            <code>database.table</code>
          </>
        ) : (
          <>
            <code>schema.table</code>
          </>
        )}
        , e.g. <code>{example}</code>. On the next step each table feeds one output port.
      </p>
      <GroupErrors messages={problems.exact("spec.source.tables")} />
      {draft.tables.map((t, i) => (
        <div className="row table-row" key={i}>
          <TextField
            label={`Table ${i + 1}`}
            path={`spec.source.tables[${i}]`}
            value={t}
            placeholder={example}
            onChange={(v) =>
              update((d) => {
                const old = d.tables[i];
                d.tables[i] = v;
                // Ports fed by this table follow its new name.
                for (const p of d.ports) if (p.table === old && old !== "") p.table = v;
              })
            }
          />
          <button
            type="button"
            className="button ghost"
            disabled={draft.tables.length === 1}
            onClick={() =>
              update((d) => {
                d.tables.splice(i, 1);
              })
            }
          >
            Remove table {i + 1}
          </button>
        </div>
      ))}
      <button
        type="button"
        className="button"
        onClick={() =>
          update((d) => {
            d.tables.push("");
          })
        }
      >
        Add a table
      </button>
    </>
  );
}

export function SinksStep({ draft, update }: { draft: Draft; update: Update }) {
  return (
    <>
      <p className="muted lead">
        Sinks copy the product's ports into another system. They are optional: consumers can always read the Kafka topics directly.
        Masking applies to sinks too, and the admission policy refuses sinks that would receive sensitive data raw.
      </p>
      {draft.sinks.length === 0 && (
        <div className="empty">
          <p className="empty-title">No sinks</p>
          <p className="muted">Add a sink to deliver this product to a data warehouse, a bucket, a database or a search index.</p>
        </div>
      )}
      {draft.sinks.map((s, k) => (
        <SinkCard key={s.uid} sink={s} index={k} draft={draft} update={update} />
      ))}
      <button
        type="button"
        className="button"
        onClick={() =>
          update((d) => {
            d.sinks.push(emptySink());
          })
        }
      >
        Add a sink
      </button>
    </>
  );
}

function SinkCard({ sink, index: k, draft, update }: { sink: SinkDraft; index: number; draft: Draft; update: Update }) {
  const problems = useProblems();
  const base = `spec.sinks[${k}]`;
  const kp = `${base}.${sink.kind}`;
  const headingId = useId();
  const portsHelp = useId();
  const set = <K extends SinkKind>(kind: K, key: keyof SinkDraft[K], v: string | boolean) =>
    update((d) => {
      (d.sinks[k][kind] as Record<string, string | boolean>)[key as string] = v;
    });
  const portNames = draft.ports.map((p) => p.name).filter(Boolean);
  return (
    <section className="card sink" aria-labelledby={headingId}>
      <div className="card-head">
        <h3 id={headingId}>
          Sink {k + 1}
          {sink.name ? `: ${sink.name}` : ""}
        </h3>
        <button
          type="button"
          className="button ghost"
          onClick={() =>
            update((d) => {
              d.sinks.splice(k, 1);
            })
          }
        >
          Remove sink {k + 1}
        </button>
      </div>
      <GroupErrors messages={problems.exact(base)} />
      <div className="grid2">
        <TextField
          label="Sink name"
          help="A short name, e.g. warehouse: lower-case letters, digits and '-'."
          path={`${base}.name`}
          value={sink.name}
          onChange={(v) =>
            update((d) => {
              d.sinks[k].name = v;
            })
          }
        />
        <SelectField
          label="Kind"
          help="The system the data is delivered to."
          path={`${base}.kind`}
          value={sink.kind}
          options={sinkKinds}
          onChange={(v) =>
            update((d) => {
              d.sinks[k].kind = v;
            })
          }
        />
      </div>
      {sink.kind === "bigquery" && (
        <div className="grid2">
          <TextField label="Google Cloud project" help="The project id, e.g. acme-analytics." path={`${kp}.project`} value={sink.bigquery.project} onChange={(v) => set("bigquery", "project", v)} />
          <TextField label="Dataset" help="The BigQuery dataset tables are written to: letters, digits and '_'." path={`${kp}.dataset`} value={sink.bigquery.dataset} onChange={(v) => set("bigquery", "dataset", v)} />
          <TextField
            label="Service account key reference"
            help={<>Where the connector finds the service account's JSON key, e.g. <code>file:/secrets/bq.properties:key</code> — never the key itself.</>}
            path={`${kp}.credentialsRef`}
            value={sink.bigquery.credentialsRef}
            onChange={(v) => set("bigquery", "credentialsRef", v)}
          />
        </div>
      )}
      {sink.kind === "s3" && (
        <div className="grid2">
          <TextField label="Bucket" help="The S3 bucket name, e.g. acme-sales-exports." path={`${kp}.bucket`} value={sink.s3.bucket} onChange={(v) => set("s3", "bucket", v)} />
          <TextField label="Region" help="The bucket's AWS region, e.g. eu-west-1." path={`${kp}.region`} value={sink.s3.region} onChange={(v) => set("s3", "region", v)} />
          <TextField label="Folder prefix (optional)" help="A relative folder inside the bucket, e.g. exports/sales." path={`${kp}.prefix`} value={sink.s3.prefix} onChange={(v) => set("s3", "prefix", v)} />
          <SelectField
            label="File format"
            path={`${kp}.format`}
            value={sink.s3.format}
            options={[
              { value: "parquet", label: "Parquet (columnar, for analytics)" },
              { value: "json", label: "JSON lines" },
              { value: "avro", label: "Avro" },
            ]}
            onChange={(v) => set("s3", "format", v)}
          />
          <TextField label="Records per file" help="A file is written after this many records (1 to 1,000,000)." path={`${kp}.flushSize`} type="number" min={1} value={sink.s3.flushSize} onChange={(v) => set("s3", "flushSize", v)} />
          <TextField
            label="Start a new file at least every (seconds)"
            help="Between 1 second and 7 days (604800). 600 is ten minutes."
            path={`${kp}.rotateIntervalMs`}
            type="number"
            min={1}
            value={sink.s3.rotateSeconds}
            onChange={(v) => set("s3", "rotateSeconds", v)}
          />
          <TextField
            label="AWS credentials reference (optional)"
            help={<>Where the connector finds the secret access key, e.g. <code>env:AWS_SECRET_ACCESS_KEY</code>. Leave empty to use the workers' own AWS role.</>}
            path={`${kp}.credentialsRef`}
            value={sink.s3.credentialsRef}
            onChange={(v) => set("s3", "credentialsRef", v)}
          />
        </div>
      )}
      {sink.kind === "jdbc" && (
        <div className="grid2">
          <TextField label="JDBC URL" help="e.g. jdbc:postgresql://reporting-db:5432/reports — without user name or password." path={`${kp}.url`} value={sink.jdbc.url} onChange={(v) => set("jdbc", "url", v)} />
          <TextField label="Database username" path={`${kp}.username`} value={sink.jdbc.username} onChange={(v) => set("jdbc", "username", v)} />
          <TextField label="Password reference" help={REF_HELP} path={`${kp}.secretRef`} value={sink.jdbc.secretRef} onChange={(v) => set("jdbc", "secretRef", v)} />
          <SelectField
            label="Write mode"
            help="Upsert inserts new rows and updates existing ones by primary key."
            path={`${kp}.insertMode`}
            value={sink.jdbc.insertMode}
            options={[
              { value: "upsert", label: "Upsert (insert or update)" },
              { value: "insert", label: "Insert only" },
              { value: "update", label: "Update only" },
            ]}
            onChange={(v) => set("jdbc", "insertMode", v)}
          />
          <TextField
            label="Primary key fields (optional)"
            help="Fields of the delivered ports that identify a row, separated by commas, e.g. order_id."
            path={`${kp}.primaryKeyFields`}
            value={sink.jdbc.primaryKeyFields}
            onChange={(v) => set("jdbc", "primaryKeyFields", v)}
          />
          <CheckField
            label="Delete rows when they are deleted at the source"
            help="Needs upsert or update mode."
            path={`${kp}.deleteEnabled`}
            checked={sink.jdbc.deleteEnabled}
            onChange={(v) => set("jdbc", "deleteEnabled", v)}
          />
        </div>
      )}
      {sink.kind === "elasticsearch" && (
        <div className="grid2">
          <TextField label="Elasticsearch URL" help="e.g. https://search.internal:9200 — without user name or password." path={`${kp}.url`} value={sink.elasticsearch.url} onChange={(v) => set("elasticsearch", "url", v)} />
          <TextField label="Username (optional)" help="Leave empty when the cluster needs no login." path={`${kp}.username`} value={sink.elasticsearch.username} onChange={(v) => set("elasticsearch", "username", v)} />
          <TextField label="Password reference" help={REF_HELP} path={`${kp}.secretRef`} value={sink.elasticsearch.secretRef} onChange={(v) => set("elasticsearch", "secretRef", v)} />
          <TextField label="Index prefix (optional)" help="Indexes are named after the topics, behind this prefix: lower-case letters, digits and '-'." path={`${kp}.indexPrefix`} value={sink.elasticsearch.indexPrefix} onChange={(v) => set("elasticsearch", "indexPrefix", v)} />
        </div>
      )}
      <fieldset className="plain" aria-describedby={portsHelp}>
        <legend>Ports this sink reads</legend>
        <p className="help" id={portsHelp}>
          Which output ports are delivered to this sink.
        </p>
        <label className="check">
          <input
            type="checkbox"
            checked={sink.allPorts}
            data-path={`${base}.ports`}
            onChange={(e) =>
              update((d) => {
                d.sinks[k].allPorts = e.target.checked;
                if (!e.target.checked && d.sinks[k].ports.length === 0) d.sinks[k].ports = d.ports.map((p) => p.name).filter(Boolean);
              })
            }
          />
          All ports, including ports added later
        </label>
        {!sink.allPorts && (
          <ul className="checks">
            {portNames.length === 0 && <li className="muted">This product has no named ports yet: add them on the Ports &amp; fields step.</li>}
            {portNames.map((name) => (
              <li key={name}>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={sink.ports.includes(name)}
                    data-path={`${base}.ports`}
                    onChange={(e) =>
                      update((d) => {
                        const s = d.sinks[k];
                        s.ports = e.target.checked
                          ? d.ports.map((p) => p.name).filter((n) => n === name || s.ports.includes(n))
                          : s.ports.filter((n) => n !== name);
                      })
                    }
                  />
                  {name}
                </label>
              </li>
            ))}
          </ul>
        )}
        <GroupErrors messages={problems.at(`${base}.ports`)} />
      </fieldset>
    </section>
  );
}

export function CheckField(p: { label: string; help?: string; path: string; checked: boolean; onChange(v: boolean): void }) {
  const problems = useProblems();
  const errors = problems.at(p.path);
  const id = useId();
  return (
    <div className={"field" + (errors.length ? " invalid" : "")}>
      <label className="check">
        <input
          type="checkbox"
          checked={p.checked}
          data-path={p.path}
          aria-describedby={[p.help ? id + "-help" : "", errors.length ? id + "-err" : ""].filter(Boolean).join(" ") || undefined}
          aria-invalid={errors.length > 0 || undefined}
          onChange={(e) => p.onChange(e.target.checked)}
        />
        {p.label}
      </label>
      {p.help && (
        <p className="help" id={id + "-help"}>
          {p.help}
        </p>
      )}
      <GroupErrors messages={errors} id={id + "-err"} />
    </div>
  );
}
