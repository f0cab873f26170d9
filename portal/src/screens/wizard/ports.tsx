// The Ports & fields step: each output port (a Kafka topic) with its settings
// and a grid of its fields, classified in bulk from the keyboard.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import {
  classNames,
  describeRetention,
  emptyField,
  emptyPort,
  retentionToMs,
  topicFor,
  typeNames,
  type ClassName,
  type Draft,
  type FieldDraft,
  type PortDraft,
  type RetentionUnit,
  type TypeName,
} from "./draft";
import { Field, GroupErrors, SelectField, TextArea, TextField, useProblems } from "./form";
import type { Update } from "./steps";

/** portNameFor suggests a port name for a table: public.order_items → order-items. */
export function portNameFor(table: string): string {
  const t = (table.split(".").pop() ?? "").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const n = /^[a-z]/.test(t) ? t : "t-" + t;
  return (n.length < 2 ? n + "-port" : n).slice(0, 63);
}

const typeAliases: Record<string, TypeName> = {
  text: "string", varchar: "string", char: "string", uuid: "string", string: "string",
  int: "int32", integer: "int32", int4: "int32", smallint: "int32", int32: "int32",
  bigint: "int64", int8: "int64", long: "int64", int64: "int64",
  float: "float", real: "float", float4: "float", double: "double", float8: "double",
  numeric: "decimal", decimal: "decimal", money: "decimal",
  bool: "boolean", boolean: "boolean",
  bytea: "bytes", bytes: "bytes", blob: "bytes", binary: "bytes",
  date: "date", timestamp: "timestamp", timestamptz: "timestamp", datetime: "timestamp",
  json: "json", jsonb: "json",
};

/** parseFieldList reads pasted lines "name [type] [pii|sensitive|internal|none] [key]" into fields. */
export function parseFieldList(text: string): FieldDraft[] {
  const out: FieldDraft[] = [];
  for (const line of text.split(/\r?\n/)) {
    const words = line.split(/[\s,;|\t]+/).map((w) => w.trim()).filter(Boolean);
    if (words.length === 0) continue;
    const f = emptyField();
    f.name = words[0];
    for (const w of words.slice(1)) {
      const lw = w.toLowerCase().replace(/\(.*$/, "");
      if (typeAliases[lw]) f.type = typeAliases[lw];
      else if (lw === "pii" || lw === "sensitive" || lw === "internal" || lw === "none") f.classification = lw;
      else if (lw === "key") f.key = true;
    }
    if (/not\s+null/i.test(line)) f.nullable = false;
    out.push(f);
  }
  return out;
}

/** rangeSelect returns the selection after a click on row index with shift held or not. */
export function rangeSelect(uids: string[], selected: Set<string>, anchor: number | null, index: number, shift: boolean): Set<string> {
  const next = new Set(selected);
  if (shift && anchor !== null) {
    const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
    const on = !selected.has(uids[index]) || selected.has(uids[anchor]);
    for (let i = a; i <= b; i++) {
      if (on) next.add(uids[i]);
      else next.delete(uids[i]);
    }
    return next;
  }
  if (next.has(uids[index])) next.delete(uids[index]);
  else next.add(uids[index]);
  return next;
}

export function PortsStep({ draft, update }: { draft: Draft; update: Update }) {
  const problems = useProblems();
  const unusedTables = draft.tables.filter((t) => t.trim() && !draft.ports.some((p) => p.table === t));
  const addPorts = (tables: string[]) =>
    update((d) => {
      const taken = new Set(d.ports.map((p) => p.name));
      for (const t of tables) {
        const p = emptyPort(t);
        let name = portNameFor(t);
        for (let n = 2; taken.has(name); n++) name = `${portNameFor(t)}-${n}`;
        p.name = name;
        taken.add(name);
        d.ports.push(p);
      }
    });
  return (
    <>
      <p className="muted lead">
        An output port is a Kafka topic consumers subscribe to. Each port is fed by one source table and declares its fields: only
        declared fields are published, and each field's classification decides how it is masked.
      </p>
      <GroupErrors messages={problems.exact("spec.ports")} />
      {draft.ports.length === 0 && (
        <div className="empty">
          <p className="empty-title">No output ports yet</p>
          <p className="muted">Create a port for each table you listed, then describe its fields.</p>
          <div className="row center">
            {unusedTables.length > 0 && (
              <button type="button" className="button primary" onClick={() => addPorts(unusedTables)}>
                Create a port for each table
              </button>
            )}
            <button
              type="button"
              className="button"
              onClick={() =>
                update((d) => {
                  d.ports.push(emptyPort(d.tables.length === 1 ? d.tables[0] : ""));
                })
              }
            >
              Add an empty port
            </button>
          </div>
        </div>
      )}
      {draft.ports.map((p, i) => (
        <PortCard key={p.uid} port={p} index={i} draft={draft} update={update} />
      ))}
      {draft.ports.length > 0 && (
        <div className="row">
          <button
            type="button"
            className="button"
            onClick={() =>
              update((d) => {
                d.ports.push(emptyPort(unusedTables[0] ?? ""));
              })
            }
          >
            Add a port
          </button>
          {unusedTables.length > 0 && (
            <button type="button" className="button" onClick={() => addPorts(unusedTables)}>
              Create ports for the {unusedTables.length} unused table{unusedTables.length === 1 ? "" : "s"}
            </button>
          )}
        </div>
      )}
    </>
  );
}

function PortCard({ port, index: i, draft, update }: { port: PortDraft; index: number; draft: Draft; update: Update }) {
  const problems = useProblems();
  const base = `spec.ports[${i}]`;
  const headingId = useId();
  const unitLabel = useId();
  const setPort = (fn: (p: PortDraft) => void) => update((d) => fn(d.ports[i]));
  const retentionErrors = problems.at(`${base}.retentionMs`);
  const ms = retentionToMs(port.retentionValue, port.retentionUnit);
  return (
    <section className="card port" aria-labelledby={headingId}>
      <div className="card-head">
        <h3 id={headingId}>
          Port {i + 1}
          {port.name ? `: ${port.name}` : ""}
        </h3>
        <button
          type="button"
          className="button ghost"
          onClick={() =>
            update((d) => {
              const [gone] = d.ports.splice(i, 1);
              for (const s of d.sinks) s.ports = s.ports.filter((n) => n !== gone.name);
            })
          }
        >
          Remove port {i + 1}
        </button>
      </div>
      <div className="grid2">
        <div>
          <TextField
            label="Port name"
            help="Lower-case letters, digits and '-', e.g. orders."
            path={`${base}.name`}
            value={port.name}
            onChange={(v) =>
              update((d) => {
                const old = d.ports[i].name;
                d.ports[i].name = v;
                for (const s of d.sinks) s.ports = s.ports.map((n) => (n === old ? v : n));
              })
            }
          />
          <p className="topic">
            Kafka topic: <code>{topicFor(draft.domain, draft.name.trim(), port.name.trim(), port.majorVersion)}</code>
            <span className="muted"> (derived from the domain, product and port names)</span>
          </p>
        </div>
        <SelectField
          label="Source table"
          help="The table whose changes feed this port. A table can feed one port only."
          path={`${base}.table`}
          value={port.table}
          placeholder="Choose a table"
          options={draft.tables.filter((t) => t.trim()).map((t) => ({ value: t, label: t }))}
          onChange={(v) => setPort((p) => void (p.table = v))}
        />
      </div>
      <TextArea
        label="Port description"
        help="What one record means and why consumers would use it. Required when the port carries personal data."
        path={`${base}.description`}
        rows={2}
        value={port.description}
        onChange={(v) => setPort((p) => void (p.description = v))}
      />
      <div className="grid3">
        <TextField
          label="Partitions"
          help="How many consumers can read in parallel (1 to 1024). 3 suits most products."
          path={`${base}.partitions`}
          type="number"
          min={1}
          max={1024}
          value={port.partitions}
          onChange={(v) => setPort((p) => void (p.partitions = v))}
        />
        <Field
          label="Keep records for"
          help={
            <>
              Older records are deleted. Ports with personal data keep them at most 30 days.{" "}
              <span id={unitLabel}>Now: {describeRetention(ms)}.</span>
            </>
          }
          errors={retentionErrors}
        >
          {(id, describedBy) => (
            <div className="row nowrap">
              <input
                id={id}
                type="number"
                min={1}
                className="short"
                value={port.retentionUnit === "forever" ? "" : port.retentionValue}
                disabled={port.retentionUnit === "forever"}
                data-path={`${base}.retentionMs`}
                aria-invalid={retentionErrors.length > 0 || undefined}
                aria-describedby={describedBy || undefined}
                onChange={(e) => setPort((p) => void (p.retentionValue = e.target.value))}
              />
              <select
                aria-label="Unit of time for keeping records"
                value={port.retentionUnit}
                data-path={`${base}.retentionMs`}
                onChange={(e) =>
                  setPort((p) => {
                    p.retentionUnit = e.target.value as RetentionUnit;
                    if (p.retentionUnit !== "forever" && !p.retentionValue) p.retentionValue = "7";
                  })
                }
              >
                <option value="minutes">minutes</option>
                <option value="hours">hours</option>
                <option value="days">days</option>
                <option value="forever">forever (never delete)</option>
              </select>
            </div>
          )}
        </Field>
        <SelectField
          label="Clean-up"
          help="Compaction keeps the latest record per key, for tables consumers mirror."
          path={`${base}.cleanupPolicy`}
          value={port.cleanupPolicy}
          options={[
            { value: "delete", label: "Delete records after the retention" },
            { value: "compact", label: "Keep the latest record per key (compact)" },
            { value: "compact,delete", label: "Both: compact, and delete after the retention" },
          ]}
          onChange={(v) => setPort((p) => void (p.cleanupPolicy = v))}
        />
      </div>
      <FieldsGrid port={port} portIndex={i} update={update} />
    </section>
  );
}

const COLS = ["select", "name", "type", "nullable", "classification", "tags", "key", "description", "remove"] as const;

function FieldsGrid({ port, portIndex: i, update }: { port: PortDraft; portIndex: number; update: Update }) {
  const problems = useProblems();
  const base = `spec.ports[${i}]`;
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [anchor, setAnchor] = useState<number | null>(null);
  const [bulkClass, setBulkClass] = useState<ClassName>("pii");
  const [announce, setAnnounce] = useState("");
  const [paste, setPaste] = useState("");
  const tableRef = useRef<HTMLTableElement>(null);
  const focusNext = useRef<{ uid: string; col: string } | null>(null);
  const ids = useId();
  const uids = port.fields.map((f) => f.uid);
  const portLabel = port.name || `port ${i + 1}`;

  // Keep the selection to rows that still exist.
  const live = new Set([...selected].filter((u) => uids.includes(u)));

  useEffect(() => {
    const want = focusNext.current;
    if (!want) return;
    focusNext.current = null;
    tableRef.current?.querySelector<HTMLElement>(`[data-uid="${want.uid}"][data-col="${want.col}"]`)?.focus();
  });

  const setField = (j: number, fn: (f: FieldDraft) => void) => update((d) => fn(d.ports[i].fields[j]));
  const addField = (after?: number) => {
    const f = emptyField();
    focusNext.current = { uid: f.uid, col: "name" };
    update((d) => {
      const fs = d.ports[i].fields;
      fs.splice(after === undefined ? fs.length : after + 1, 0, f);
    });
  };
  const applyBulk = () => {
    if (live.size === 0) return;
    update((d) => {
      for (const f of d.ports[i].fields) if (live.has(f.uid)) f.classification = bulkClass;
    });
    const label = classNames.find((c) => c.value === bulkClass)?.label ?? bulkClass;
    setAnnounce(`${live.size} field${live.size === 1 ? "" : "s"} classified as ${label}.`);
  };
  const toggle = (j: number, shift: boolean) => {
    setSelected(rangeSelect(uids, live, anchor, j, shift));
    setAnchor(j);
  };

  const onGridKey = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    const t = e.target as HTMLElement;
    const col = t.dataset.col;
    const u = t.dataset.uid;
    if (!col || !u) return;
    const r = uids.indexOf(u);
    const c = COLS.indexOf(col as (typeof COLS)[number]);
    const isText = t instanceof HTMLInputElement && t.type === "text";
    const isSelect = t instanceof HTMLSelectElement;
    const mod = e.ctrlKey || e.metaKey;
    let dr = 0;
    let dc = 0;
    if (e.key === "ArrowDown" && (!isSelect || mod)) dr = 1;
    else if (e.key === "ArrowUp" && (!isSelect || mod)) dr = -1;
    else if (e.key === "ArrowRight" && (mod || (!isText && !isSelect) || (isText && atEnd(t as HTMLInputElement)))) dc = 1;
    else if (e.key === "ArrowLeft" && (mod || (!isText && !isSelect) || (isText && atStart(t as HTMLInputElement)))) dc = -1;
    else if (e.key === "Enter" && isText) {
      e.preventDefault();
      if (r === uids.length - 1) addField(r);
      else dr = 1;
    } else if (e.key === " " && e.shiftKey && col === "select") {
      e.preventDefault();
      toggle(r, true);
      return;
    } else return;
    if (dr === 0 && dc === 0) return;
    e.preventDefault();
    const nr = Math.max(0, Math.min(uids.length - 1, r + dr));
    let nc = c + dc;
    nc = Math.max(0, Math.min(COLS.length - 1, nc));
    tableRef.current?.querySelector<HTMLElement>(`[data-uid="${uids[nr]}"][data-col="${COLS[nc]}"]`)?.focus();
  };

  const groupMsgs = problems.exact(`${base}.fields`);
  const allSelected = uids.length > 0 && live.size === uids.length;
  const helpId = ids + "-help";
  return (
    <div className="fields">
      <h4 id={ids + "-h"}>Fields of {portLabel}</h4>
      <p className="help" id={helpId}>
        Declare every column consumers may see. Mark the fields that identify a record as <strong>key</strong> (they reach Kafka
        unmasked, so never a personal field). Keyboard: ↑ and ↓ move between rows, Ctrl+← and Ctrl+→ between columns (plain
        arrows where the cursor allows), Enter moves down or adds a field, Space selects a row and Shift+Space selects a range.
      </p>
      <details className="legend">
        <summary>What do the classifications mean?</summary>
        <dl>
          {classNames.map((c) => (
            <div key={c.value || "unset"}>
              <dt>{c.label}</dt>
              <dd>{c.help}</dd>
            </div>
          ))}
        </dl>
      </details>
      <GroupErrors messages={groupMsgs} />
      <div className="bulk row" role="group" aria-label={`Classify selected fields of ${portLabel}`}>
        <span className="muted">
          {live.size} of {uids.length} selected
        </span>
        <label htmlFor={ids + "-bulk"}>Classification for selected</label>
        <select id={ids + "-bulk"} value={bulkClass} onChange={(e) => setBulkClass(e.target.value as ClassName)}>
          {classNames
            .filter((c) => c.value)
            .map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
        </select>
        <button type="button" className="button" disabled={live.size === 0} onClick={applyBulk}>
          Apply to selected
        </button>
        <button
          type="button"
          className="button ghost"
          disabled={live.size === 0}
          onClick={() => {
            update((d) => {
              d.ports[i].fields = d.ports[i].fields.filter((f) => !live.has(f.uid));
            });
            setAnnounce(`${live.size} field${live.size === 1 ? "" : "s"} removed.`);
            setSelected(new Set());
          }}
        >
          Remove selected
        </button>
        <span className="sr-only" role="status" aria-live="polite">
          {announce}
        </span>
      </div>
      <div className="grid-scroll">
        <table className="grid" ref={tableRef} aria-labelledby={ids + "-h"} aria-describedby={helpId}>
          <thead>
            <tr>
              <th scope="col" className="narrow">
                <input
                  type="checkbox"
                  aria-label={`Select all fields of ${portLabel}`}
                  checked={allSelected}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(uids))}
                />
              </th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col" className="narrow">Nullable</th>
              <th scope="col">Classification</th>
              <th scope="col">Tags</th>
              <th scope="col" className="narrow">Key</th>
              <th scope="col">Description</th>
              <th scope="col" className="narrow">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody onKeyDown={onGridKey}>
            {port.fields.map((f, j) => {
              const fp = `${base}.fields[${j}]`;
              const n = j + 1;
              const errs = {
                name: problems.exact(`${fp}.name`),
                type: problems.exact(`${fp}.type`),
                classification: problems.exact(`${fp}.classification`),
                tags: problems.at(`${fp}.tags`),
                key: problems.exact(`${fp}.key`),
                description: problems.exact(`${fp}.description`),
                nullable: problems.exact(`${fp}.nullable`),
              };
              const err = (k: keyof typeof errs) =>
                errs[k].length > 0 ? { "aria-invalid": true as const, "aria-describedby": `${ids}-${f.uid}-${k}` } : {};
              const msgs = (k: keyof typeof errs) =>
                errs[k].length > 0 && (
                  <ul className="cell-errors" id={`${ids}-${f.uid}-${k}`}>
                    {errs[k].map((m, x) => (
                      <li key={x}>{m}</li>
                    ))}
                  </ul>
                );
              const sel = live.has(f.uid);
              return (
                <tr key={f.uid} className={sel ? "selected" : undefined}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select field ${n}${f.name ? ` (${f.name})` : ""}`}
                      checked={sel}
                      data-uid={f.uid}
                      data-col="select"
                      // A checkbox's change comes from its click: shift-click selects a range.
                      onChange={(e) => toggle(j, (e.nativeEvent as globalThis.MouseEvent).shiftKey === true)}
                    />
                  </td>
                  <td>
                    <input
                      type="text"
                      aria-label={`Field ${n} name`}
                      value={f.name}
                      spellCheck={false}
                      autoComplete="off"
                      data-uid={f.uid}
                      data-col="name"
                      data-path={`${fp}.name`}
                      {...err("name")}
                      onChange={(e) => setField(j, (x) => void (x.name = e.target.value))}
                    />
                    {msgs("name")}
                  </td>
                  <td>
                    <select
                      aria-label={`Field ${n} type`}
                      value={f.type}
                      data-uid={f.uid}
                      data-col="type"
                      data-path={`${fp}.type`}
                      {...err("type")}
                      onChange={(e) => setField(j, (x) => void (x.type = e.target.value as TypeName))}
                    >
                      {f.type === "" && <option value="">Choose a type</option>}
                      {typeNames.map((t) => (
                        <option key={t.value} value={t.value}>
                          {t.label}
                        </option>
                      ))}
                    </select>
                    {msgs("type")}
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Field ${n} may be empty (nullable)`}
                      checked={f.nullable}
                      data-uid={f.uid}
                      data-col="nullable"
                      data-path={`${fp}.nullable`}
                      {...err("nullable")}
                      onChange={(e) => setField(j, (x) => void (x.nullable = e.target.checked))}
                    />
                    {msgs("nullable")}
                  </td>
                  <td>
                    <select
                      aria-label={`Field ${n} classification`}
                      value={f.classification}
                      className={"class-" + (f.classification || "unset")}
                      data-uid={f.uid}
                      data-col="classification"
                      data-path={`${fp}.classification`}
                      {...err("classification")}
                      onChange={(e) => setField(j, (x) => void (x.classification = e.target.value as ClassName))}
                    >
                      {classNames.map((c) => (
                        <option key={c.value || "unset"} value={c.value}>
                          {c.label}
                        </option>
                      ))}
                    </select>
                    {msgs("classification")}
                  </td>
                  <td>
                    <input
                      type="text"
                      aria-label={`Field ${n} tags, separated by commas`}
                      value={f.tags}
                      spellCheck={false}
                      autoComplete="off"
                      className="tags"
                      data-uid={f.uid}
                      data-col="tags"
                      data-path={`${fp}.tags`}
                      {...err("tags")}
                      onChange={(e) => setField(j, (x) => void (x.tags = e.target.value))}
                    />
                    {msgs("tags")}
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Field ${n} is part of the record key`}
                      checked={f.key}
                      data-uid={f.uid}
                      data-col="key"
                      data-path={`${fp}.key`}
                      {...err("key")}
                      onChange={(e) => setField(j, (x) => void (x.key = e.target.checked))}
                    />
                    {msgs("key")}
                  </td>
                  <td>
                    <input
                      type="text"
                      aria-label={`Field ${n} description`}
                      value={f.description}
                      autoComplete="off"
                      data-uid={f.uid}
                      data-col="description"
                      data-path={`${fp}.description`}
                      {...err("description")}
                      onChange={(e) => setField(j, (x) => void (x.description = e.target.value))}
                    />
                    {msgs("description")}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="button ghost small"
                      data-uid={f.uid}
                      data-col="remove"
                      onClick={() => {
                        const next = port.fields[j + 1] ?? port.fields[j - 1];
                        if (next) focusNext.current = { uid: next.uid, col: "name" };
                        update((d) => {
                          d.ports[i].fields.splice(j, 1);
                        });
                      }}
                    >
                      Remove<span className="sr-only"> field {n}</span>
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div className="row">
        <button type="button" className="button" onClick={() => addField()}>
          Add a field<span className="sr-only"> to {portLabel}</span>
        </button>
      </div>
      <details className="paste">
        <summary>Add several fields from a list</summary>
        <Field
          label="Fields, one per line"
          help={
            <>
              Each line: a name, then optionally a type (e.g. <code>int64</code>, <code>text</code>, <code>timestamptz</code>), a
              classification (<code>none</code>, <code>internal</code>, <code>pii</code>, <code>sensitive</code>) and{" "}
              <code>key</code>. For example <code>order_id bigint none key</code>. You can paste the output of a table
              description.
            </>
          }
        >
          {(id, describedBy) => (
            <textarea id={id} rows={4} value={paste} aria-describedby={describedBy} onChange={(e) => setPaste(e.target.value)} />
          )}
        </Field>
        <button
          type="button"
          className="button"
          disabled={!paste.trim()}
          onClick={() => {
            const parsed = parseFieldList(paste);
            update((d) => {
              const fs = d.ports[i].fields;
              // Replace the one blank row a new port starts with.
              if (fs.length === 1 && !fs[0].name.trim()) fs.splice(0, 1);
              fs.push(...parsed);
            });
            setAnnounce(`${parsed.length} field${parsed.length === 1 ? "" : "s"} added.`);
            setPaste("");
          }}
        >
          Add these fields
        </button>
      </details>
    </div>
  );
}

function atStart(el: HTMLInputElement): boolean {
  return el.selectionStart === 0 && el.selectionEnd === 0;
}
function atEnd(el: HTMLInputElement): boolean {
  return el.selectionStart === el.value.length && el.selectionEnd === el.value.length;
}
