// Small pieces the governance and access screens share.
import { Fragment, type ReactNode } from "react";
import { foldUnchanged, type DiffLine } from "./diff";
import "./governance.css";

/** exact formats a date for tables where the exact time matters (UTC, to the second). */
export function exact(d: Date | null): string {
  if (!d) return "—";
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** Diff renders a folded line diff as a table: numbers, +/- and the line, with a caption. */
export function DiffTable({ lines, caption, context = 3 }: { lines: DiffLine[]; caption: ReactNode; context?: number }) {
  const chunks = foldUnchanged(lines, context);
  return (
    <div className="diff-wrap">
      <table className="diff">
        <caption className="sr-only">{caption}</caption>
        <thead className="sr-only">
          <tr>
            <th scope="col">Line before</th>
            <th scope="col">Line after</th>
            <th scope="col">Change</th>
            <th scope="col">Text</th>
          </tr>
        </thead>
        <tbody>
          {chunks.map((c, i) =>
            c.kind === "skip" ? (
              <tr key={i} className="skip">
                <td colSpan={4}>
                  {c.count} unchanged line{c.count === 1 ? "" : "s"}
                </td>
              </tr>
            ) : (
              <Fragment key={i}>
                {c.lines.map((l, j) => (
                  <tr key={j} className={l.kind}>
                    <td className="num">{l.oldNo ?? ""}</td>
                    <td className="num">{l.newNo ?? ""}</td>
                    <td className="sign">
                      {l.kind === "add" ? "+" : l.kind === "del" ? "−" : ""}
                      <span className="sr-only">{l.kind === "add" ? "added" : l.kind === "del" ? "removed" : ""}</span>
                    </td>
                    <td className="text">{l.text}</td>
                  </tr>
                ))}
              </Fragment>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** prettyJSON indents a JSON text; text that is not JSON comes back as it is. */
export function prettyJSON(text: string): string {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** plural says "1 thing" or "3 things". */
export function plural(n: number | bigint, one: string, many = one + "s"): string {
  return `${n} ${Number(n) === 1 ? one : many}`;
}

/** formatMicros renders a duration in microseconds for people. */
export function formatMicros(us: bigint | number): string {
  const n = Number(us);
  if (n < 1000) return `${n} µs`;
  if (n < 1_000_000) return `${Math.round(n / 100) / 10} ms`;
  return `${Math.round(n / 100_000) / 10} s`;
}
