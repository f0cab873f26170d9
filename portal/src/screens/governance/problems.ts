// Server problems mapped onto lines: policy compile errors name
// file:line:col, role definition errors name the line.
import type { ApiError } from "../../lib/api";

/** LineProblem is a message pinned to a line (and column, when known) of a file. */
export interface LineProblem {
  file: string;
  /** line is 1-based; 0 when the server named no line. */
  line: number;
  col: number;
  message: string;
}

/** Problems sorts what the server said into per-line problems and the rest. */
export interface Problems {
  lines: LineProblem[];
  /** general are problems that concern no line of a file in the draft. */
  general: { field: string; message: string }[];
}

const positioned = /^(.+?):(\d+):(\d+):\s*([\s\S]*)$/;
const fileField = /^files\["((?:[^"\\]|\\.)*)"\]$/;

/** fileOfField returns the file a violation's field path names (files["x.rego"]), or "". */
export function fileOfField(field: string): string {
  const m = fileField.exec(field);
  if (!m) return "";
  try {
    return JSON.parse('"' + m[1] + '"') as string;
  } catch {
    return m[1];
  }
}

/**
 * compileProblems maps a SavePolicyDraft / PublishPolicy error onto the
 * draft's files: violations at files["name"] whose message starts with
 * name:line:col become line problems; everything else is general.
 */
export function compileProblems(err: ApiError | null | undefined, files: Iterable<string>): Problems {
  const out: Problems = { lines: [], general: [] };
  if (!err) return out;
  const known = new Set(files);
  for (const v of err.violations) {
    const m = positioned.exec(v.message);
    const file = m ? m[1] : fileOfField(v.field);
    if (m && known.has(file)) {
      out.lines.push({ file, line: Number(m[2]), col: Number(m[3]), message: m[4].trim() });
    } else if (!m && file && known.has(file)) {
      out.lines.push({ file, line: 0, col: 0, message: v.message });
    } else if (v.field === "files" || v.field.startsWith("files[") || v.field.startsWith("tests[")) {
      out.general.push({ field: v.field, message: v.message });
    }
  }
  out.lines.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col);
  return out;
}

const rbacLine = /^policy\.lines\[(\d+)\]$/;

/**
 * rbacProblems maps an UpdateRBACPolicy error onto the text's lines:
 * policy.lines[N] is line N; "policy" concerns the definitions as a whole.
 */
export function rbacProblems(err: ApiError | null | undefined): Problems {
  const out: Problems = { lines: [], general: [] };
  if (!err) return out;
  for (const v of err.violations) {
    const m = rbacLine.exec(v.field);
    if (m) out.lines.push({ file: "", line: Number(m[1]), col: 0, message: v.message });
    else if (v.field === "policy" || v.field.startsWith("policy.") || v.field === "text") out.general.push(v);
  }
  out.lines.sort((a, b) => a.line - b.line);
  return out;
}

/** linesOf groups problems of one file by line, for marking an editor. */
export function linesOf(problems: LineProblem[], file: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const p of problems) {
    if (p.file !== file || p.line < 1) continue;
    const list = out.get(p.line) ?? [];
    list.push(p.col ? `column ${p.col}: ${p.message}` : p.message);
    out.set(p.line, list);
  }
  return out;
}

/** offsetOf returns the character offset of 1-based line and column in text. */
export function offsetOf(text: string, line: number, col = 1): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const end = text.indexOf("\n", offset);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(offset + Math.max(0, col - 1), lineEnd);
}
