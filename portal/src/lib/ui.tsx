// Shared building blocks: every screen uses these so errors, empty states,
// help text and badges look and read the same everywhere.
import { useId, useState, type ReactNode } from "react";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ApiError } from "./api";
import { Link } from "./router";

/** Page is a screen: a title, an optional description and actions. */
export function Page(props: { title: ReactNode; description?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <div>
          <h1 id="page-title">{props.title}</h1>
          {props.description && <p className="muted">{props.description}</p>}
        </div>
        {props.actions && <div className="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** ErrorBanner shows a failed call: its message and every field violation. */
export function ErrorBanner({ error, title }: { error: ApiError | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div className="banner error" role="alert">
      <strong>{title ?? "The server refused this"}</strong>
      <span className="code">{error.reason || error.code}</span>
      <p>{error.message}</p>
      {error.violations.length > 0 && (
        <ul>
          {error.violations.map((v, i) => (
            <li key={i}>
              <code>{v.field}</code>: {v.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Notice is a non-error banner (info, success, warning). */
export function Notice({ tone = "info", children }: { tone?: "info" | "success" | "warning"; children: ReactNode }) {
  return (
    <div className={`banner ${tone}`} role="status">
      {children}
    </div>
  );
}

/**
 * Field is a labelled input with help text a non-specialist understands and
 * its errors. Errors are announced at once unless announce is false: a form
 * the server re-checks as people type says so in one polite status instead.
 */
export function Field(props: {
  label: string;
  help?: ReactNode;
  errors?: string[];
  announce?: boolean;
  children: (id: string, describedBy: string, invalid: boolean) => ReactNode;
}) {
  const id = useId();
  const helpId = id + "-help";
  const errId = id + "-err";
  const errors = props.errors ?? [];
  const describedBy = [props.help ? helpId : "", errors.length ? errId : ""].filter(Boolean).join(" ");
  return (
    <div className={"field" + (errors.length ? " invalid" : "")}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy, errors.length > 0)}
      {props.help && (
        <p className="help" id={helpId}>
          {props.help}
        </p>
      )}
      {errors.length > 0 && (
        <div id={errId} role={props.announce === false ? undefined : "alert"}>
          <ul className="field-errors">
            {errors.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export type Tone = "neutral" | "good" | "warn" | "bad" | "info" | "pii" | "sensitive";

/** Badge is a short status word; the text always says what the color means. */
export function Badge({ tone = "neutral", children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge ${tone}`} title={title}>
      {children}
    </span>
  );
}

/** EmptyState says there is nothing yet and what to do next. */
export function EmptyState(props: { title: string; children?: ReactNode; action?: { to: string; label: string } }) {
  return (
    <div className="empty">
      <p className="empty-title">{props.title}</p>
      {props.children && <p className="muted">{props.children}</p>}
      {props.action && (
        <Link className="button primary" to={props.action.to}>
          {props.action.label}
        </Link>
      )}
    </div>
  );
}

/** Loading marks a region that is waiting for the server. */
export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/** Tabs is an accessible tab list; the selected tab's panel is rendered by the caller. */
export function Tabs(props: { tabs: { id: string; label: string; count?: number }[]; selected: string; onSelect(id: string): void; label: string }) {
  return (
    <div className="tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map((t) => (
        <button
          key={t.id}
          role="tab"
          id={"tab-" + t.id}
          aria-selected={props.selected === t.id}
          aria-controls={"panel-" + t.id}
          tabIndex={props.selected === t.id ? 0 : -1}
          className={props.selected === t.id ? "tab selected" : "tab"}
          onClick={() => props.onSelect(t.id)}
          onKeyDown={(e) => {
            const i = props.tabs.findIndex((x) => x.id === t.id);
            const n = props.tabs.length;
            const to = e.key === "ArrowRight" ? (i + 1) % n : e.key === "ArrowLeft" ? (i - 1 + n) % n : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : -1;
            if (to < 0) return;
            e.preventDefault();
            props.onSelect(props.tabs[to].id);
            // Focus follows the selection, as the tabs pattern expects.
            const list = e.currentTarget.parentElement;
            requestAnimationFrame(() => list?.querySelector<HTMLButtonElement>(`#tab-${CSS.escape(props.tabs[to].id)}`)?.focus());
          }}
        >
          {t.label}
          {t.count !== undefined && <span className="count">{t.count}</span>}
        </button>
      ))}
    </div>
  );
}

/** TabPanel wraps the selected tab's content. */
export function TabPanel({ id, children }: { id: string; children: ReactNode }) {
  return (
    <div role="tabpanel" id={"panel-" + id} aria-labelledby={"tab-" + id} className="tab-panel">
      {children}
    </div>
  );
}

/** TypedConfirm asks the user to type a word before a destructive action. */
export function TypedConfirm(props: { word: string; label: string; onConfirm(): void; busy?: boolean; children?: ReactNode }) {
  const [typed, setTyped] = useState("");
  const id = useId();
  return (
    <div className="confirm">
      {props.children}
      <label htmlFor={id}>
        Type <code>{props.word}</code> to confirm
      </label>
      <input id={id} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
      <button className="button danger" disabled={typed !== props.word || props.busy} onClick={props.onConfirm}>
        {props.label}
      </button>
    </div>
  );
}

/** dateOf converts an optional protobuf Timestamp. */
export function dateOf(t?: Timestamp): Date | null {
  return t ? timestampDate(t) : null;
}

/** when formats a timestamp for people, with the exact time on hover. */
export function When({ date }: { date?: Date | null }) {
  if (!date) return <span className="muted">—</span>;
  return <time dateTime={date.toISOString()} title={date.toISOString()}>{relative(date)}</time>;
}

export function relative(d: Date, now = new Date()): string {
  const s = Math.round((d.getTime() - now.getTime()) / 1000);
  const a = Math.abs(s);
  const fmt = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  if (a < 60) return fmt.format(s, "second");
  if (a < 3600) return fmt.format(Math.round(s / 60), "minute");
  if (a < 86400) return fmt.format(Math.round(s / 3600), "hour");
  return fmt.format(Math.round(s / 86400), "day");
}
