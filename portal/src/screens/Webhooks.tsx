// Webhooks: endpoints meshplane's events are delivered to, as signed
// CloudEvents, each with its delivery log and replay.
import { useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { DeliveryState, EventsService, type Webhook, type WebhookDelivery } from "../gen/meshplane/v1/events_pb";
import { describeError, violationsFor, type ApiError } from "../lib/api";
import { Badge, EmptyState, ErrorBanner, Field, Loading, Notice, Page, When, dateOf, type Tone } from "../lib/ui";
import { Mono, TableScroll } from "./product/common";

const deliveryWords: Record<DeliveryState, [string, Tone]> = {
  [DeliveryState.UNSPECIFIED]: ["unknown", "neutral"],
  [DeliveryState.PENDING]: ["pending", "info"],
  [DeliveryState.DELIVERED]: ["delivered", "good"],
  [DeliveryState.FAILED]: ["failed", "bad"],
};

/** typesOf reads the event types typed one per line (or separated by commas). */
export function typesOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((t) => t.trim())
    .filter(Boolean);
}

export function Webhooks() {
  const q = useQuery(EventsService.method.listWebhooks, {});
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  return (
    <Page
      title="Webhooks"
      description="Every change in meshplane — products, runs, drift, access, policies — is sent to these endpoints as a signed CloudEvent, retried until it arrives, in order."
    >
      {secret && (
        <Notice tone="success">
          Webhook <strong>{secret.name}</strong> signs its deliveries with this secret. It is shown only now: store it where the receiver
          verifies signatures. <Mono>{secret.secret}</Mono>
        </Notice>
      )}
      <CreateWebhook onCreated={(name, s) => { setSecret({ name, secret: s }); void q.refetch(); }} />
      {q.isPending && <Loading what="Loading webhooks" />}
      <ErrorBanner error={q.error ? describeError(q.error) : null} title="The webhooks could not be loaded" />
      {q.data && q.data.webhooks.length === 0 && (
        <EmptyState title="No webhook yet">Register one above to have meshplane call a system of yours whenever something changes.</EmptyState>
      )}
      {q.data?.webhooks.map((w) => (
        <WebhookCard key={w.id} w={w} onChanged={() => void q.refetch()} onSecret={(s) => setSecret({ name: w.name, secret: s })} />
      ))}
    </Page>
  );
}

function CreateWebhook({ onCreated }: { onCreated(name: string, secret: string): void }) {
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  const [form, setForm] = useState({ domain: "", name: "", url: "", types: "" });
  const [err, setErr] = useState<ApiError | null>(null);
  const create = useMutation(EventsService.method.createWebhook, {
    onMutate: () => setErr(null),
    onError: (e) => setErr(describeError(e)),
    onSuccess: (res) => {
      onCreated(res.webhook?.name ?? form.name, res.secret);
      setForm({ domain: form.domain, name: "", url: "", types: "" });
    },
  });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <form
      className="card"
      aria-labelledby="new-webhook-h"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate({ domain: form.domain, name: form.name, url: form.url, types: typesOf(form.types) });
      }}
    >
      <h2 id="new-webhook-h">Register a webhook</h2>
      <ErrorBanner error={err && err.violations.length === 0 ? err : null} title="The webhook was not registered" />
      <Field label="Domain" help="Whose events it receives. Every domain also brings the changes of global resources such as policies." errors={violationsFor(err, "domain")}>
        {(id, d, invalid) => (
          <select id={id} aria-describedby={d} aria-invalid={invalid} value={form.domain} onChange={set("domain")} required>
            <option value="">Choose a domain</option>
            <option value="*">Every domain</option>
            {domains.data?.domains.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Name" help="Lowercase letters, digits and hyphens, unique in the domain." errors={violationsFor(err, "name")}>
        {(id, d, invalid) => <input id={id} aria-describedby={d} aria-invalid={invalid} value={form.name} onChange={set("name")} required />}
      </Field>
      <Field label="URL" help="An http or https address that answers 2xx within 10 seconds. No credentials in it: deliveries are signed." errors={violationsFor(err, "url")}>
        {(id, d, invalid) => <input id={id} type="url" aria-describedby={d} aria-invalid={invalid} value={form.url} onChange={set("url")} required />}
      </Field>
      <Field
        label="Event types (optional)"
        help="One per line, e.g. dev.meshplane.provision.RunApplied, or a prefix ending in .* such as dev.meshplane.access.*. Empty sends every event."
        errors={violationsFor(err, "types")}
      >
        {(id, d, invalid) => <textarea id={id} rows={3} aria-describedby={d} aria-invalid={invalid} value={form.types} onChange={set("types")} />}
      </Field>
      <button type="submit" className="button primary" disabled={create.isPending}>
        {create.isPending ? "Registering…" : "Register webhook"}
      </button>
    </form>
  );
}

function WebhookCard({ w, onChanged, onSecret }: { w: Webhook; onChanged(): void; onSecret(secret: string): void }) {
  const [open, setOpen] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const settle = { onMutate: () => setFailure(null), onError: (e: unknown) => setFailure(e), onSuccess: onChanged };
  const update = useMutation(EventsService.method.updateWebhook, settle);
  const rotate = useMutation(EventsService.method.rotateWebhookSecret, { ...settle, onSuccess: (r) => { onSecret(r.secret); onChanged(); } });
  const remove = useMutation(EventsService.method.deleteWebhook, settle);
  const busy = update.isPending || rotate.isPending || remove.isPending;
  const title = `${w.domain === "*" ? "every domain" : w.domain} / ${w.name}`;
  return (
    <section className="card" aria-label={`Webhook ${title}`}>
      <h2>
        {title} <Badge tone={w.active ? "good" : "warn"}>{w.active ? "active" : "paused"}</Badge>
      </h2>
      <p>
        <Mono>{w.url}</Mono>
      </p>
      <p className="muted">
        {w.types.length ? `Sends ${w.types.join(", ")}.` : "Sends every event."} Created by {w.createdBy} <When date={dateOf(w.createTime)} />.
      </p>
      <ErrorBanner error={failure ? describeError(failure) : null} title="The change was not made" />
      <div className="row">
        <button type="button" className="button" disabled={busy} onClick={() => update.mutate({ id: w.id, version: w.version, active: !w.active })}>
          {w.active ? "Pause" : "Resume"}
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => rotate.mutate({ id: w.id, version: w.version })}>
          Rotate secret
        </button>
        <button
          type="button"
          className="button danger"
          disabled={busy}
          onClick={() => window.confirm(`Delete webhook ${w.name} and its delivery log?`) && remove.mutate({ id: w.id, version: w.version })}
        >
          Delete
        </button>
        <button type="button" className="button ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide deliveries" : "Show deliveries"}
        </button>
      </div>
      {!w.active && <p className="muted">Paused: events still accrue and are sent, in order, once it is resumed.</p>}
      {open && <Deliveries webhook={w} />}
    </section>
  );
}

function Deliveries({ webhook }: { webhook: Webhook }) {
  const q = useQuery(EventsService.method.listWebhookDeliveries, { webhookId: webhook.id, pageSize: 50 }, { refetchInterval: 5_000 });
  const [failure, setFailure] = useState<unknown>(null);
  const replay = useMutation(EventsService.method.replayWebhookDelivery, {
    onMutate: () => setFailure(null),
    onError: (e) => setFailure(e),
    onSettled: () => void q.refetch(),
  });
  if (q.isPending) return <Loading what="Loading deliveries" />;
  if (q.error) return <ErrorBanner error={describeError(q.error)} title="The delivery log could not be loaded" />;
  const ds = q.data.deliveries;
  if (ds.length === 0) return <p className="muted">Nothing sent yet.</p>;
  return (
    <>
      <ErrorBanner error={failure ? describeError(failure) : null} title="The delivery was not replayed" />
      <TableScroll label={`Deliveries of ${webhook.name}, newest event first`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Replay</th>
            </tr>
          </thead>
          <tbody>
            {ds.map((d) => (
              <DeliveryRow key={d.id} d={d} busy={replay.isPending} onReplay={() => replay.mutate({ id: d.id })} />
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

function DeliveryRow({ d, busy, onReplay }: { d: WebhookDelivery; busy: boolean; onReplay(): void }) {
  const [word, tone] = deliveryWords[d.state];
  return (
    <tr>
      <th scope="row">
        #{d.sequence.toString()} <Mono>{d.type.replace(/^dev\.meshplane\./, "")}</Mono>
      </th>
      <td>
        <Badge tone={tone}>{word}</Badge>{" "}
        {d.state === DeliveryState.PENDING && d.attempts > 0 && (
          <span className="muted">
            next try <When date={dateOf(d.nextAttemptTime)} />
          </span>
        )}
        {d.state === DeliveryState.DELIVERED && <When date={dateOf(d.deliverTime)} />}
      </td>
      <td>{d.attempts}</td>
      <td>
        {d.responseStatus ? `HTTP ${d.responseStatus}` : d.attempts ? "no answer" : "—"}
        {d.lastError && <span className="muted product-block">{d.lastError}</span>}
      </td>
      <td>
        {d.state !== DeliveryState.PENDING && (
          <button type="button" className="button" disabled={busy} onClick={onReplay}>
            Replay
          </button>
        )}
      </td>
    </tr>
  );
}
