// Overview: the product at a glance — summary, source database, labels,
// what is provisioned and whether the policy admits it.
import { useId } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { Lifecycle, SourceKind, type DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { PolicyService } from "../../gen/meshplane/v1/policy_pb";
import { describeError } from "../../lib/api";
import { Link } from "../../lib/router";
import { Badge, ErrorBanner, Loading, When, dateOf } from "../../lib/ui";
import { health, healthDetail, LifecycleBadge, lifecycleExplanation, productPath } from "../catalog/model";
import { Facts, Mono } from "./common";
import { policyPart } from "./format";

const sourceWords: Record<SourceKind, string> = {
  [SourceKind.UNSPECIFIED]: "not set",
  [SourceKind.POSTGRES]: "PostgreSQL",
  [SourceKind.MYSQL]: "MySQL",
};

export function Overview({ p }: { p: DataProduct }) {
  const id = useId();
  const labels = Object.entries(p.labels).sort(([a], [b]) => a.localeCompare(b));
  const src = p.source;
  return (
    <div className="product-overview">
      <section className="card" aria-labelledby={id + "summary"}>
        <h2 id={id + "summary"}>Summary</h2>
        <Facts
          items={[
            ["Domain", p.domain],
            ["Owner", p.owner || <span className="muted">nobody named yet</span>],
            [
              "Lifecycle",
              <>
                <LifecycleBadge lifecycle={p.lifecycle} /> <span className="muted">{lifecycleExplanation(p.lifecycle)}</span>
              </>,
            ],
            ["Output ports", p.ports.length ? p.ports.map((x) => x.name).join(", ") : <span className="muted">none</span>],
            ["Sinks", p.sinks.length ? p.sinks.map((x) => x.name).join(", ") : <span className="muted">none</span>],
            [
              "Registered",
              <>
                <When date={dateOf(p.createTime)} /> {p.createdBy && <span className="muted">by {p.createdBy}</span>}
              </>,
            ],
            [
              "Last changed",
              <>
                <When date={dateOf(p.updateTime)} /> {p.updatedBy && <span className="muted">by {p.updatedBy}</span>}
              </>,
            ],
          ]}
        />
      </section>

      <section className="card" aria-labelledby={id + "provisioning"}>
        <h2 id={id + "provisioning"}>Provisioning</h2>
        <Facts
          items={[
            ["Current version", String(p.version)],
            [
              "Provisioned version",
              p.provisionedVersion ? (
                String(p.provisionedVersion)
              ) : (
                <span className="muted">{p.lifecycle === Lifecycle.RETIRED ? "none: decommissioned" : "never provisioned"}</span>
              ),
            ],
            [
              "Last drift check",
              p.driftCheckTime ? (
                <>
                  <When date={dateOf(p.driftCheckTime)} />{" "}
                  {p.drift.length ? (
                    <Link to={productPath(p.domain, p.name, "drift")}>
                      {p.drift.length} change{p.drift.length === 1 ? "" : "s"} found
                    </Link>
                  ) : (
                    <span className="muted">nothing changed</span>
                  )}
                </>
              ) : (
                <span className="muted">never checked</span>
              ),
            ],
          ]}
        />
        <p className={health(p) === "drift" ? "product-status-line product-bad" : "product-status-line"}>{provisioningSentence(p)}</p>
      </section>

      <section className="card" aria-labelledby={id + "source"}>
        <h2 id={id + "source"}>Source database</h2>
        {src ? (
          <Facts
            items={[
              ["Kind", sourceWords[src.kind]],
              ["Server", <Mono>{src.host + (src.port ? ":" + src.port : "")}</Mono>],
              ["Database", <Mono>{src.database}</Mono>],
              [
                "Tables captured",
                src.tables.length ? (
                  <ul className="product-plain">
                    {src.tables.map((t) => (
                      <li key={t}>
                        <Mono>{t}</Mono>
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span className="muted">none</span>
                ),
              ],
              ["User", src.username ? <Mono>{src.username}</Mono> : <span className="muted">not set</span>],
              [
                "Password from",
                src.secretRef ? (
                  <>
                    <Mono>{src.secretRef}</Mono>
                    <span className="muted product-block">meshplane stores only where the password is kept, never the password.</span>
                  </>
                ) : (
                  <span className="muted">not set</span>
                ),
              ],
            ]}
          />
        ) : (
          <p className="muted">No source database yet: edit the product to say which database it captures changes from.</p>
        )}
      </section>

      <section className="card" aria-labelledby={id + "labels"}>
        <h2 id={id + "labels"}>Labels</h2>
        {labels.length ? (
          <ul className="product-chips">
            {labels.map(([k, v]) => (
              <li key={k}>
                <code>
                  {k}={v}
                </code>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No labels. Labels are key=value tags teams use to find products, e.g. tier=gold.</p>
        )}
        <h3>Governance</h3>
        <Admission p={p} />
      </section>
    </div>
  );
}

function provisioningSentence(p: DataProduct): string {
  if (p.lifecycle === Lifecycle.RETIRED) return "Decommissioned: its topics, ACLs and connectors were destroyed. A retired product stays in the catalog, read-only.";
  if (!p.provisionedVersion) return "Nothing exists in Kafka for this product yet. Plan it to see what would be created, then approve the plan.";
  if (p.version > p.provisionedVersion) {
    return `Version ${p.version} has changes that are not provisioned (version ${p.provisionedVersion} is). Plan and approve to apply them. ${health(p) === "drift" ? healthDetail(p) : ""}`.trim();
  }
  return healthDetail(p);
}

function Admission({ p }: { p: DataProduct }) {
  const ev = useQuery(PolicyService.method.evaluateDataProduct, { domain: p.domain, name: p.name });
  if (ev.isPending) return <Loading what="Asking the policy" />;
  if (ev.error) return <ErrorBanner error={describeError(ev.error)} title="The policy could not be asked" />;
  const r = ev.data;
  return (
    <>
      <p>
        {r.allowed ? <Badge tone="good">admitted</Badge> : <Badge tone="bad">refused</Badge>}{" "}
        {r.allowed ? "The published admission policy accepts this product." : "The published admission policy refuses this product; it cannot be planned until this is fixed:"}{" "}
        <span className="muted">({policyPart(r.policyVersion, "admission")})</span>
      </p>
      {r.violations.length > 0 && (
        <ul>
          {r.violations.map((v, i) => (
            <li key={i}>
              {v.path && <code>{v.path}</code>} {v.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
