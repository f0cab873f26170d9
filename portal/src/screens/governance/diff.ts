// Line diffs between two texts (a policy version and the draft, or two
// versions), and the helpers that fold unchanged stretches for display.

export type DiffKind = "same" | "add" | "del";

/** DiffLine is one line of a diff; oldNo/newNo are 1-based line numbers. */
export interface DiffLine {
  kind: DiffKind;
  text: string;
  oldNo?: number;
  newNo?: number;
}

/** Above this many cells the quadratic diff gives up and replaces the middle wholesale. */
const MAX_CELLS = 16_000_000;

/** splitLines splits text into lines; a trailing newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * diffLines returns the shortest edit from before to after, line by line
 * (longest common subsequence), deletions before additions at each change.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ kind: "same", text: a[i], oldNo: i + 1, newNo: i + 1 });

  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endA; i++) out.push({ kind: "del", text: a[i], oldNo: i + 1 });
    for (let j = start; j < endB; j++) out.push({ kind: "add", text: b[j], newNo: j + 1 });
  } else if (n > 0 || m > 0) {
    // lcs[i*(m+1)+j] = length of the LCS of a[start+i:] and b[start+j:].
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          a[start + i] === b[start + j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        out.push({ kind: "same", text: a[start + i], oldNo: start + i + 1, newNo: start + j + 1 });
        i++;
        j++;
      } else if (j >= m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
        out.push({ kind: "del", text: a[start + i], oldNo: start + i + 1 });
        i++;
      } else {
        out.push({ kind: "add", text: b[start + j], newNo: start + j + 1 });
        j++;
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) {
    out.push({ kind: "same", text: a[endA + k], oldNo: endA + k + 1, newNo: endB + k + 1 });
  }
  return out;
}

/** DiffChunk is either lines to show or a run of unchanged lines folded away. */
export type DiffChunk = { kind: "lines"; lines: DiffLine[] } | { kind: "skip"; count: number };

/** foldUnchanged keeps `context` unchanged lines around each change and folds the rest. */
export function foldUnchanged(lines: DiffLine[], context = 3): DiffChunk[] {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.kind === "same") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out: DiffChunk[] = [];
  for (let i = 0; i < lines.length; ) {
    if (keep[i]) {
      const chunk: DiffLine[] = [];
      while (i < lines.length && keep[i]) chunk.push(lines[i++]);
      out.push({ kind: "lines", lines: chunk });
    } else {
      let count = 0;
      while (i < lines.length && !keep[i]) {
        count++;
        i++;
      }
      out.push({ kind: "skip", count });
    }
  }
  return out;
}

/** diffStats counts added and removed lines. */
export function diffStats(lines: DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.kind === "add") added++;
    else if (l.kind === "del") removed++;
  }
  return { added, removed };
}

/** FileDiff is the diff of one file between two sets of files. */
export interface FileDiff {
  file: string;
  status: "added" | "removed" | "changed" | "unchanged";
  lines: DiffLine[];
}

/** diffFiles diffs every file of two file sets, by name. */
export function diffFiles(before: Record<string, string>, after: Record<string, string>): FileDiff[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.map((file) => {
    const inBefore = Object.prototype.hasOwnProperty.call(before, file);
    const inAfter = Object.prototype.hasOwnProperty.call(after, file);
    const lines = diffLines(inBefore ? before[file] : "", inAfter ? after[file] : "");
    const status = !inBefore ? "added" : !inAfter ? "removed" : lines.some((l) => l.kind !== "same") ? "changed" : "unchanged";
    return { file, status, lines };
  });
}
