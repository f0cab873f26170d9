// Kafka credentials of a service account: issue or rotate its SCRAM
// password. The password is shown once, kept only in this component's
// memory, and gone when the callout is dismissed or the page left.
import { useEffect, useId, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { IssueKafkaCredentialResponse } from "../../gen/meshplane/v1/access_pb";
import { accessApi, describeError, violationsFor, type ApiError } from "../../lib/api";
import { useSession } from "../../lib/session";
import { ErrorBanner, Field, Notice, dateOf } from "../../lib/ui";
import { exact } from "../governance/common";
import { kafkaClientProperties } from "./format";
import { EnvironmentField, useEnvironmentChoice, useServiceAccounts } from "./RequestForm";
import "./access.css";

type Issued = Pick<IssueKafkaCredentialResponse, "credential" | "password" | "bootstrapServers" | "securityProtocol"> & { rotated: boolean };

/** friendly rewrites the credential errors people meet most into what to do next. */
function friendly(e: ApiError, who: string, env: string): ApiError {
  const where = env ? ` in ${env}` : "";
  switch (e.reason) {
    case "CREDENTIAL_EXISTS":
      return { ...e, message: `${who} already has a Kafka credential${where}. Its password cannot be shown again: rotate it to get a new one.` };
    case "NO_CREDENTIAL":
      return { ...e, message: `${who} has no Kafka credential${where} yet: issue one first.` };
    case "NO_DATA_PLANE":
      return { ...e, message: `The Kafka data plane could not be reached, so nothing changed. Try again later. (${e.message})` };
  }
  return e;
}

export function Credentials() {
  const { principal } = useSession();
  const sas = useServiceAccounts();
  const env = useEnvironmentChoice();
  const [who, setWho] = useState(principal?.kind === "service-account" ? principal.name : "");
  const [issued, setIssued] = useState<Issued | null>(null);
  const [err, setErr] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const qc = useQueryClient();

  useEffect(() => {
    if (!who && sas.accounts.length === 1) setWho(sas.accounts[0].name);
  }, [who, sas.accounts]);

  async function run(kind: "issue" | "rotate") {
    setErr(null);
    setIssued(null);
    setBusy(true);
    try {
      const req = { principal: who, environment: env.value };
      const res = kind === "issue" ? await accessApi.issueKafkaCredential(req) : await accessApi.rotateKafkaCredential(req);
      setIssued({
        credential: res.credential,
        password: res.password,
        bootstrapServers: res.bootstrapServers,
        securityProtocol: res.securityProtocol,
        rotated: kind === "rotate",
      });
      setConfirmRotate(false);
      void qc.invalidateQueries();
    } catch (e) {
      setErr(friendly(describeError(e), who, env.value));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <h2>Kafka credentials</h2>
      <p className="muted">
        A service account reads Kafka with a user name and password (SCRAM-SHA-512). meshplane creates them on the broker and shows the
        password once; it keeps nothing that could show it again. Grants decide what the account may read.
      </p>
      {issued ? (
        <PasswordCallout issued={issued} onDismiss={() => setIssued(null)} />
      ) : (
        <>
          <Field
            label="Service account"
            help="Whose credential to issue or rotate. Owners of the service account's domain may do this."
            errors={violationsFor(err, "principal")}
          >
            {(id, d) =>
              sas.accounts.length > 0 ? (
                <select
                  id={id}
                  aria-describedby={d}
                  value={who}
                  onChange={(e) => {
                    setWho(e.target.value);
                    setErr(null);
                    setConfirmRotate(false);
                  }}
                >
                  <option value="">Choose a service account</option>
                  {sas.accounts.map((a) => (
                    <option key={a.name} value={a.name}>
                      {a.name} ({a.domain})
                    </option>
                  ))}
                </select>
              ) : (
                <input id={id} aria-describedby={d} value={who} onChange={(e) => setWho(e.target.value)} autoComplete="off" />
              )
            }
          </Field>
          {env.several && (
            <EnvironmentField
              environments={env.environments}
              value={env.value}
              onChange={(name) => {
                env.choose(name);
                setErr(null);
                setConfirmRotate(false);
              }}
              help="Which Kafka cluster the credential signs in to. Each environment is its own cluster, with its own user and password; grants in one let the service account read there only."
              errors={violationsFor(err, "environment")}
            />
          )}
          <ErrorBanner
            error={err && violationsFor(err, "principal").length === 0 && violationsFor(err, "environment").length === 0 ? err : null}
            title="Nothing was changed"
          />
          {!confirmRotate ? (
            <div className="row">
              <button type="button" className="button primary" disabled={!who || busy} onClick={() => void run("issue")}>
                {busy ? "Working…" : "Issue credential"}
              </button>
              <button type="button" className="button" disabled={!who || busy} onClick={() => setConfirmRotate(true)}>
                Rotate password…
              </button>
            </div>
          ) : (
            <div className="confirm">
              <strong>
                Rotate the password of {who}
                {env.value && ` in ${env.value}`}?
              </strong>
              <p>
                The old password stops working at once: every application using it fails to connect until it gets the new one. Rotate when a
                password may have leaked, or on your regular schedule.
              </p>
              <div className="row">
                <button type="button" className="button danger" disabled={busy} onClick={() => void run("rotate")}>
                  {busy ? "Rotating…" : "Rotate password"}
                </button>
                <button type="button" className="button ghost" onClick={() => setConfirmRotate(false)}>
                  Keep the current password
                </button>
              </div>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function PasswordCallout({ issued, onDismiss }: { issued: Issued; onDismiss(): void }) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  const pwId = useId();
  const cfgId = useId();
  const [copied, setCopied] = useState<"" | "password" | "settings" | "failed">("");
  const c = issued.credential;
  const settings = kafkaClientProperties({
    bootstrapServers: issued.bootstrapServers,
    securityProtocol: issued.securityProtocol,
    mechanism: c?.mechanism ?? "SCRAM-SHA-512",
    username: c?.username ?? "",
    password: issued.password,
  });

  useEffect(() => {
    headingRef.current?.focus();
  }, []);

  async function copy(text: string, what: "password" | "settings") {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(what);
    } catch {
      setCopied("failed");
    }
  }

  return (
    <section className="secret-callout" aria-labelledby={pwId + "-h"}>
      <h3 id={pwId + "-h"} ref={headingRef} tabIndex={-1}>
        Copy the password now: it is shown only this once
      </h3>
      <p>
        <strong>
          Kafka credential for {c?.principal}
          {c?.environment && ` in ${c.environment}`}
        </strong>
        {c?.environment && ": it signs in to that environment's cluster only."}
      </p>
      <p>
        {issued.rotated ? "The password was rotated; the old one no longer works. " : "The credential was created. "}
        meshplane does not store this password and cannot show it again. Put it in your application's secret store now. If it is lost,
        rotate the password to get a new one.
      </p>
      <dl className="kv">
        <dt>User name</dt>
        <dd>
          <code>{c?.username}</code>
        </dd>
        <dt>Mechanism</dt>
        <dd>{c?.mechanism}</dd>
        <dt>Security protocol</dt>
        <dd>{issued.securityProtocol}</dd>
        <dt>Bootstrap servers</dt>
        <dd>
          <code>{issued.bootstrapServers.join(",")}</code>
        </dd>
        <dt>ACLs name it</dt>
        <dd>
          <code>{c?.kafkaPrincipal}</code>
        </dd>
        <dt>{issued.rotated ? "Rotated" : "Issued"}</dt>
        <dd>
          {exact(dateOf(issued.rotated ? c?.rotateTime ?? c?.issueTime : c?.issueTime))} by {c?.issuedBy}
        </dd>
      </dl>
      <div className="field wide">
        <label htmlFor={pwId}>Password</label>
        <div className="row">
          <input id={pwId} className="secret" readOnly value={issued.password} autoComplete="off" spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" className="button primary" onClick={() => void copy(issued.password, "password")}>
            Copy password
          </button>
        </div>
        <p className="help">Click the field to select the whole password, then copy it with Ctrl+C (⌘C on a Mac), or use the button.</p>
      </div>
      <div className="field wide">
        <label htmlFor={cfgId}>Kafka client settings</label>
        <textarea id={cfgId} className="secret-config" readOnly rows={5} value={settings} spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
        <p className="help">
          For Java clients and tools that read a properties file; the same values work in any Kafka client. Your consumer group ids must
          start with the prefix of your grants.
        </p>
        <div className="row">
          <button type="button" className="button" onClick={() => void copy(settings, "settings")}>
            Copy settings
          </button>
        </div>
      </div>
      <p role="status" className="copy-status">
        {copied === "password" && "Password copied to the clipboard."}
        {copied === "settings" && "Settings copied to the clipboard."}
        {copied === "failed" && "The browser did not allow copying: select the field and press Ctrl+C (⌘C on a Mac)."}
      </p>
      <Notice tone="warning">Once you hide this, the password is gone from this page for good.</Notice>
      <button type="button" className="button" onClick={onDismiss}>
        I have stored the password: hide it
      </button>
    </section>
  );
}
