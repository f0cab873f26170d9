// Inputs of the wizard: each one labelled, explained, and showing the server's
// messages for its path. data-path tells the wizard which inputs a person has
// visited, so it only shows problems they have had a chance to fix.
import { createContext, useContext, type ReactNode } from "react";
import { Field as SharedField } from "../../lib/ui";

export interface Problems {
  /** Messages for this path and its children, among those the wizard shows now. */
  at(path: string): string[];
  /** Messages for exactly this path. */
  exact(path: string): string[];
}

export const ProblemsContext = createContext<Problems>({ at: () => [], exact: () => [] });

export function useProblems(): Problems {
  return useContext(ProblemsContext);
}

interface TextProps {
  label: string;
  help?: ReactNode;
  path: string;
  value: string;
  onChange(v: string): void;
  placeholder?: string;
  type?: "text" | "number" | "email" | "url";
  inputMode?: "numeric" | "text" | "url" | "email";
  min?: number;
  max?: number;
  /** exact: only this path's messages, not its children's. */
  exact?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
  spellCheck?: boolean;
}

export function TextField(p: TextProps) {
  const problems = useProblems();
  const errors = p.exact ? problems.exact(p.path) : problems.at(p.path);
  return (
    <Field label={p.label} help={p.help} errors={errors}>
      {(id, describedBy) => (
        <input
          id={id}
          type={p.type ?? "text"}
          inputMode={p.inputMode}
          min={p.min}
          max={p.max}
          value={p.value}
          placeholder={p.placeholder}
          disabled={p.disabled}
          autoFocus={p.autoFocus}
          spellCheck={p.spellCheck ?? false}
          autoComplete="off"
          data-path={p.path}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={describedBy || undefined}
          onChange={(e) => p.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function TextArea(p: Omit<TextProps, "type" | "inputMode" | "min" | "max"> & { rows?: number }) {
  const problems = useProblems();
  const errors = p.exact ? problems.exact(p.path) : problems.at(p.path);
  return (
    <Field label={p.label} help={p.help} errors={errors}>
      {(id, describedBy) => (
        <textarea
          id={id}
          rows={p.rows ?? 3}
          value={p.value}
          placeholder={p.placeholder}
          data-path={p.path}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={describedBy || undefined}
          onChange={(e) => p.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField<T extends string>(p: {
  label: string;
  help?: ReactNode;
  path: string;
  value: T;
  options: { value: T; label: string }[];
  onChange(v: T): void;
  placeholder?: string;
  disabled?: boolean;
}) {
  const problems = useProblems();
  const errors = problems.at(p.path);
  return (
    <Field label={p.label} help={p.help} errors={errors}>
      {(id, describedBy) => (
        <select
          id={id}
          value={p.value}
          disabled={p.disabled}
          data-path={p.path}
          aria-invalid={errors.length > 0 || undefined}
          aria-describedby={describedBy || undefined}
          onChange={(e) => p.onChange(e.target.value as T)}
        >
          {p.placeholder !== undefined && <option value="">{p.placeholder}</option>}
          {p.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** GroupErrors shows messages that concern a group of inputs (a port's fields, a sink). They are
 * not announced as alerts: the server re-judges the draft while it is typed, and the wizard's
 * status line says politely how many problems are left. */
export function GroupErrors({ messages, id }: { messages: string[]; id?: string }) {
  if (messages.length === 0) return null;
  return (
    <ul className="field-errors group-errors" id={id}>
      {messages.map((m, i) => (
        <li key={i}>{m}</li>
      ))}
    </ul>
  );
}

/** Field is the shared Field whose messages are not announced one by one:
 * the wizard re-checks as people type and reports in one polite status line. */
export function Field(props: { label: string; help?: ReactNode; errors?: string[]; children: (id: string, describedBy: string) => ReactNode }) {
  return <SharedField {...props} announce={false} />;
}
