// "Request access": a consumer service account asks to read one or more
// output ports, with a purpose, a duration and a consumer group prefix.
import { useEffect, useId, useState, type ReactNode } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { skipToken, useQueryClient } from "@tanstack/react-query";
import { AccessService, type AccessRequest } from "../../gen/meshplane/v1/access_pb";
import { CatalogService, Lifecycle, type DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { IdentityService, PrincipalKind, type Principal } from "../../gen/meshplane/v1/identity_pb";
import { ProvisioningService, type Environment } from "../../gen/meshplane/v1/provisioning_pb";
import { describeError, violationsFor, type ApiError } from "../../lib/api";
import { useSession } from "../../lib/session";
import { Badge, ErrorBanner, Field, Loading, Notice } from "../../lib/ui";
import { approverLabel, days } from "../governance/describe";
import {
  accessEnvironment,
  daysToSeconds,
  defaultGroupPrefix,
  environmentLabel,
  exactViolations,
  holdsPersonalData,
  personalFields,
  requestState,
  unpinned,
  type PortChoice,
} from "./format";
import "./access.css";

/** useServiceAccounts lists the enabled service accounts the caller can see. */
export function useServiceAccounts() {
  const q = useQuery(IdentityService.method.listPrincipals, { pageSize: 500 });
  const accounts = (q.data?.principals ?? []).filter((p) => p.kind === PrincipalKind.SERVICE_ACCOUNT && !p.disabled);
  return { ...q, accounts };
}

/**
 * useEnvironmentChoice is the environment a consumer reads in: the one
 * chosen, else the one marked for access. With a single environment (or
 * none listed) there is nothing to choose, and calls name none ("") so the
 * server picks.
 */
export function useEnvironmentChoice() {
  const q = useQuery(ProvisioningService.method.listEnvironments, {});
  const [chosen, setChosen] = useState("");
  const environments = q.data?.environments ?? [];
  const several = environments.length > 1;
  const value = !several ? "" : environments.some((e) => e.name === chosen) ? chosen : accessEnvironment(environments);
  return { environments, several, value, choose: setChosen };
}

/** EnvironmentField chooses among several environments. */
export function EnvironmentField(props: {
  environments: Environment[];
  value: string;
  onChange(name: string): void;
  help: ReactNode;
  errors: string[];
}) {
  return (
    <Field label="Environment" help={props.help} errors={props.errors}>
      {(id, d) => (
        <select id={id} aria-describedby={d} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
          {props.environments.map((e) => (
            <option key={e.name} value={e.name}>
              {environmentLabel(e)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

const pinnedFields = (f: string) =>
  f === "consumer" ||
  f === "environment" ||
  f === "purpose" ||
  f === "durationSeconds" ||
  f === "groupPrefix" ||
  f === "ports" ||
  /^ports\[\d+\]/.test(f);

export function RequestForm(props: { initial: PortChoice | null; onShowMine(): void }) {
  const { principal } = useSession();
  const sas = useServiceAccounts();
  const env = useEnvironmentChoice();
  const qc = useQueryClient();
  const [consumer, setConsumer] = useState(principal?.kind === "service-account" ? principal.name : "");
  const [rows, setRows] = useState<PortChoice[]>([props.initial ?? { domain: "", product: "", port: "" }]);
  const [purpose, setPurpose] = useState("");
  const [dayText, setDayText] = useState("");
  const [prefix, setPrefix] = useState("");
  const [filed, setFiled] = useState<AccessRequest | null>(null);
  const [products, setProducts] = useState<Record<string, DataProduct>>({});
  const [localErr, setLocalErr] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!consumer && sas.accounts.length === 1) setConsumer(sas.accounts[0].name);
  }, [consumer, sas.accounts]);

  const request = useMutation(AccessService.method.requestAccess, {
    onSuccess: (res) => {
      const r = res.accessRequest ?? null;
      setFiled(r);
      setPurpose("");
      setDayText("");
      setPrefix("");
      setRows([{ domain: "", product: "", port: "" }]);
      void qc.invalidateQueries();
    },
  });
  const err = localErr ?? (request.error ? describeError(request.error) : null);
  const sa: Principal | undefined = sas.accounts.find((a) => a.name === consumer);
  const defPrefix = sa ? defaultGroupPrefix(sa.domain, sa.name) : "";
  const chosenPorts = rows.map((r) => products[`${r.domain}/${r.product}`]?.ports.find((p) => p.name === r.port)).filter((p) => p !== undefined);
  const personal = chosenPorts.some((p) => holdsPersonalData(p));

  function submit() {
    setLocalErr(null);
    setFiled(null);
    const seconds = daysToSeconds(dayText);
    if (seconds === null) {
      setLocalErr({ code: "InvalidArgument", reason: "", message: "Check the form", violations: [{ field: "durationSeconds", message: "Enter a positive number of days, or leave it empty." }] });
      return;
    }
    request.mutate({
      consumer: consumer.trim(),
      environment: env.value,
      ports: rows.map((r) => ({ domain: r.domain, product: r.product, port: r.port })),
      purpose: purpose.trim(),
      durationSeconds: seconds,
      groupPrefix: prefix.trim(),
    });
  }

  return (
    <div>
      <h2>Request access to data products</h2>
      <p className="muted">
        Ask for a service account to read one or more output ports. The owners of each product (and, for personal data, a governance
        officer) approve; then meshplane lets the service account read the topics.
      </p>
      {filed && <FiledNotice r={filed} onShowMine={props.onShowMine} />}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
        noValidate
      >
        <Field
          label="Consumer service account"
          help={
            <>
              The service account your application uses to read from Kafka. Access is granted to it, not to you; it may belong to any
              domain you may request for.
              {sas.data && sas.accounts.length === 0 && " You can see no service account yet: ask a domain owner to create one, or type its name."}
            </>
          }
          errors={violationsFor(err, "consumer")}
        >
          {(id, d) =>
            sas.accounts.length > 0 ? (
              <select id={id} aria-describedby={d} value={consumer} onChange={(e) => setConsumer(e.target.value)} required>
                <option value="">Choose a service account</option>
                {sas.accounts.map((a) => (
                  <option key={a.name} value={a.name}>
                    {a.name} ({a.domain}){a.displayName ? ` — ${a.displayName}` : ""}
                  </option>
                ))}
              </select>
            ) : (
              <input id={id} aria-describedby={d} value={consumer} onChange={(e) => setConsumer(e.target.value)} autoComplete="off" required />
            )
          }
        </Field>

        {env.several && (
          <EnvironmentField
            environments={env.environments}
            value={env.value}
            onChange={env.choose}
            help={
              <>
                Where the service account will read. Each environment is its own Kafka cluster, with its own grants and credentials:
                access in one gives none in another. The access policy may ask for more approvals in protected environments, such as
                production.
              </>
            }
            errors={violationsFor(err, "environment")}
          />
        )}

        <fieldset className="ports-fieldset">
          <legend>Ports to read</legend>
          <p className="help">
            An output port is one Kafka topic of a data product. Add several to ask for them in one request; each is approved by its own
            product's owners.
          </p>
          {violationsFor(err, "ports").length > 0 && exactViolations(err, "ports").length > 0 && (
            <ul className="field-errors" role="alert">
              {exactViolations(err, "ports").map((m, i) => (
                <li key={i}>{m}</li>
              ))}
            </ul>
          )}
          {rows.map((row, i) => (
            <PortRow
              key={i}
              index={i}
              count={rows.length}
              row={row}
              err={err}
              onChange={(next) => setRows(rows.map((r, j) => (j === i ? next : r)))}
              onRemove={() => setRows(rows.filter((_, j) => j !== i))}
              onProduct={(p) => setProducts((cur) => (cur[`${p.domain}/${p.name}`] === p ? cur : { ...cur, [`${p.domain}/${p.name}`]: p }))}
            />
          ))}
          <button type="button" className="button" onClick={() => setRows([...rows, { domain: rows[rows.length - 1]?.domain ?? "", product: "", port: "" }])}>
            Add another port
          </button>
        </fieldset>

        <Field
          label="Purpose"
          help="What will the data be used for? Approvers read this to decide, and the grant keeps it. For example: “weekly churn report for the marketing team”."
          errors={violationsFor(err, "purpose")}
        >
          {(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={purpose} onChange={(e) => setPurpose(e.target.value)} required />}
        </Field>

        <Field
          label="Duration in days"
          help={
            <>
              How long the service account may read, counted from when access becomes active. Leave empty to get the longest the access
              policy allows. By default that is 90 days, or 30 days when a port holds personal data (fields classified PII or sensitive,
              or not classified at all).
              {chosenPorts.length > 0 &&
                (personal
                  ? " The ports you chose hold personal data, so expect at most 30 days."
                  : " The ports you chose hold no personal data, so expect at most 90 days.")}
            </>
          }
          errors={violationsFor(err, "durationSeconds")}
        >
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              className="short"
              value={dayText}
              onChange={(e) => setDayText(e.target.value)}
              placeholder="longest allowed"
            />
          )}
        </Field>

        <Field
          label="Consumer group prefix"
          help={
            <>
              Your application's Kafka consumer group ids must start with this. Leave empty for the default
              {defPrefix ? (
                <>
                  , <code>{defPrefix}</code>
                </>
              ) : (
                <> (the service account's domain and name, like <code>marketing.reporter.</code>)</>
              )}
              . A longer prefix must start with the default, so it never covers another team's groups.
            </>
          }
          errors={violationsFor(err, "groupPrefix")}
        >
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              value={prefix}
              onChange={(e) => setPrefix(e.target.value)}
              placeholder={defPrefix || "default"}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>

        <ErrorBanner error={unpinned(err, pinnedFields)} title="The request was not filed" />
        {err && !unpinned(err, pinnedFields) && (
          <p className="form-error" role="alert">
            The request was not filed: see the messages next to the fields above.
          </p>
        )}
        <button type="submit" className="button primary" disabled={request.isPending}>
          {request.isPending ? "Filing the request…" : "Request access"}
        </button>
      </form>
    </div>
  );
}

function FiledNotice({ r, onShowMine }: { r: AccessRequest; onShowMine(): void }) {
  const s = requestState(r.state);
  return (
    <Notice tone="success">
      <strong>Request filed for {r.consumer}.</strong> <Badge tone={s.tone}>{s.label}</Badge>{" "}
      {r.environment && `It asks for access in ${r.environment}. `}
      {r.autoApproved
        ? "The access policy approved it at once; the grants are being set up."
        : r.awaiting.length > 0
          ? `It now waits for ${r.awaiting.map(approverLabel).join(" and ")}.`
          : ""}{" "}
      Access will last {days(r.durationSeconds)} once active.{" "}
      <button type="button" className="linkish" onClick={onShowMine}>
        Follow it in My requests
      </button>
    </Notice>
  );
}

function PortRow(props: {
  index: number;
  count: number;
  row: PortChoice;
  err: ApiError | null;
  onChange(r: PortChoice): void;
  onRemove(): void;
  onProduct(p: DataProduct): void;
}) {
  const { row, index: i, err } = props;
  const base = `ports[${i}]`;
  const legendId = useId();
  const listIds = { domain: useId(), product: useId(), port: useId() };
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  // Only domains the caller may read can be listed; others are typed by name.
  const readable = !!domains.data?.domains.some((d) => d.name === row.domain);
  const products = useQuery(CatalogService.method.listDataProducts, readable ? { domain: row.domain, pageSize: 500 } : skipToken);
  const product = products.data?.dataProducts.find((p) => p.name === row.product);
  const port = product?.ports.find((p) => p.name === row.port);
  const consumable = (p: DataProduct) => p.lifecycle === Lifecycle.ACTIVE || p.lifecycle === Lifecycle.DEPRECATED;

  useEffect(() => {
    if (product) props.onProduct(product);
    if (product && !row.port && product.ports.length === 1) props.onChange({ ...row, port: product.ports[0].name });
  }, [product]);

  const pf = personalFields(port);
  return (
    <div className="port-row" role="group" aria-labelledby={legendId}>
      <p className="port-row-title" id={legendId}>
        Port {i + 1}
        {props.count > 1 && (
          <button type="button" className="button ghost small" onClick={props.onRemove}>
            Remove port {i + 1}
          </button>
        )}
      </p>
      {exactViolations(err, base).length > 0 && (
        <ul className="field-errors" role="alert">
          {exactViolations(err, base).map((m, k) => (
            <li key={k}>{m}</li>
          ))}
        </ul>
      )}
      <div className="port-pickers">
        <Field label="Domain" help="The team that owns the data, e.g. sales." errors={violationsFor(err, base + ".domain")}>
          {(id, d) => (
            <>
              <input
                id={id}
                aria-describedby={d}
                list={listIds.domain}
                value={row.domain}
                onChange={(e) => props.onChange({ domain: e.target.value.trim(), product: "", port: "" })}
                autoComplete="off"
                spellCheck={false}
              />
              <datalist id={listIds.domain}>
                {domains.data?.domains.map((x) => (
                  <option key={x.name} value={x.name} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Data product" help="Its name in that domain; only active or deprecated products can be read." errors={violationsFor(err, base + ".product")}>
          {(id, d) => (
            <>
              <input
                id={id}
                aria-describedby={d}
                list={listIds.product}
                value={row.product}
                onChange={(e) => props.onChange({ ...row, product: e.target.value.trim(), port: "" })}
                autoComplete="off"
                spellCheck={false}
              />
              <datalist id={listIds.product}>
                {products.data?.dataProducts.filter(consumable).map((p) => (
                  <option key={p.name} value={p.name} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Output port" help="The port (topic) to read, as the product page lists it." errors={violationsFor(err, base + ".port")}>
          {(id, d) => (
            <>
              <input
                id={id}
                aria-describedby={d}
                list={listIds.port}
                value={row.port}
                onChange={(e) => props.onChange({ ...row, port: e.target.value.trim() })}
                autoComplete="off"
                spellCheck={false}
              />
              <datalist id={listIds.port}>
                {product?.ports.map((p) => (
                  <option key={p.name} value={p.name}>
                    {holdsPersonalData(p) ? "personal data" : "no personal data"}
                  </option>
                ))}
              </datalist>
            </>
          )}
        </Field>
      </div>
      {products.isFetching && <Loading what="Looking up the product" />}
      {product && !consumable(product) && (
        <p className="field-errors">
          {row.domain}/{row.product} is {product.lifecycle === Lifecycle.DRAFT ? "still a draft" : "retired"}: it cannot be read.
        </p>
      )}
      {product && row.port && !port && (
        <p className="port-summary">
          {row.domain}/{row.product} has no port “{row.port}”. Its ports: {product.ports.map((p) => p.name).join(", ")}.
        </p>
      )}
      {port && (
        <p className="port-summary">
          <code>{port.topic}</code>
          {port.description && <> — {port.description}</>}{" "}
          {pf.pii.length > 0 && (
            <>
              <Badge tone="pii">PII</Badge> {pf.pii.join(", ")}{" "}
            </>
          )}
          {pf.sensitive.length > 0 && (
            <>
              <Badge tone="sensitive">sensitive</Badge> {pf.sensitive.join(", ")}{" "}
            </>
          )}
          {pf.unclassified.length > 0 && (
            <>
              <Badge tone="warn">unclassified</Badge> {pf.unclassified.join(", ")}{" "}
            </>
          )}
          {holdsPersonalData(port)
            ? "Personal data: a governance officer approves too, and the values arrive masked as the masking policy says."
            : "No personal data."}
        </p>
      )}
      {row.domain && row.product && domains.data && !readable && (
        <p className="port-summary muted">
          You cannot browse {row.domain}'s catalog, so names are not checked until you file the request. Copy them from the product's page or ask its owners.
        </p>
      )}
    </div>
  );
}
