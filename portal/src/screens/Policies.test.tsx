import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { MaskingDecisionSchema } from "../gen/meshplane/v1/policy_pb";
import { diffFiles, diffLines, diffStats, foldUnchanged, splitLines } from "./governance/diff";
import { compileProblems, fileOfField, linesOf, offsetOf } from "./governance/problems";
import { fileOrder, publishBlockers, sameFiles } from "./governance/PolicyModule";
import { describeMasking, maskingDirection } from "./governance/describe";
import { newModuleFiles } from "./governance/PolicyList";
import type { ApiError } from "../lib/api";

const err = (violations: { field: string; message: string }[]): ApiError => ({
  code: "InvalidArgument",
  reason: "POLICY_COMPILE_ERROR",
  message: "the policy does not compile",
  violations,
});

describe("diffLines", () => {
  it("finds nothing between equal texts", () => {
    const d = diffLines("a\nb\n", "a\nb\n");
    expect(d.every((l) => l.kind === "same")).toBe(true);
    expect(d).toHaveLength(2);
  });

  it("shows an inserted rule as added lines with both line numbers", () => {
    const before = "package p\n\nx := 1\ny := 2\n";
    const after = "package p\n\nx := 1\nz := 3\nw := 4\ny := 2\n";
    const d = diffLines(before, after);
    expect(d.map((l) => (l.kind === "same" ? " " : l.kind === "add" ? "+" : "-") + l.text)).toEqual([
      " package p",
      " ",
      " x := 1",
      "+z := 3",
      "+w := 4",
      " y := 2",
    ]);
    expect(d[3].newNo).toBe(4);
    expect(d[3].oldNo).toBeUndefined();
    expect(d[5]).toMatchObject({ oldNo: 4, newNo: 6 });
    expect(diffStats(d)).toEqual({ added: 2, removed: 0 });
  });

  it("puts a changed line as a removal then an addition", () => {
    const d = diffLines("a\nmask_chars := 8\nc", "a\nmask_chars := 4\nc");
    expect(d.map((l) => l.kind)).toEqual(["same", "del", "add", "same"]);
    expect(d[1].text).toBe("mask_chars := 8");
    expect(d[2].text).toBe("mask_chars := 4");
  });

  it("handles empty sides and a missing final newline", () => {
    expect(diffLines("", "a\nb").map((l) => l.kind)).toEqual(["add", "add"]);
    expect(diffLines("a\nb\n", "").map((l) => l.kind)).toEqual(["del", "del"]);
    expect(splitLines("a\nb")).toEqual(splitLines("a\nb\n"));
  });

  it("is a shortest edit: one removal in the middle of repeated lines", () => {
    const a = ["}", "x", "}", "y", "}"].join("\n");
    const b = ["}", "x", "}", "}"].join("\n");
    expect(diffStats(diffLines(a, b))).toEqual({ added: 0, removed: 1 });
  });
});

describe("foldUnchanged", () => {
  it("keeps context around changes and folds the rest", () => {
    const before = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n");
    const after = before.replace("line 15", "line fifteen");
    const chunks = foldUnchanged(diffLines(before, after), 2);
    expect(chunks.map((c) => c.kind)).toEqual(["skip", "lines", "skip"]);
    expect(chunks[0]).toEqual({ kind: "skip", count: 12 });
    const shown = chunks[1].kind === "lines" ? chunks[1].lines.map((l) => l.text) : [];
    expect(shown).toEqual(["line 13", "line 14", "line 15", "line fifteen", "line 16", "line 17"]);
    expect(chunks[2]).toEqual({ kind: "skip", count: 13 });
  });
});

describe("diffFiles", () => {
  it("reports added, removed, changed and unchanged files by name", () => {
    const d = diffFiles({ "m.rego": "a", "m_old.rego": "x", "m_test.rego": "t" }, { "m.rego": "b", "m_new.rego": "y", "m_test.rego": "t" });
    expect(d.map((f) => [f.file, f.status])).toEqual([
      ["m.rego", "changed"],
      ["m_new.rego", "added"],
      ["m_old.rego", "removed"],
      ["m_test.rego", "unchanged"],
    ]);
  });
});

describe("compileProblems", () => {
  it("pins file:line:col errors to the file and line", () => {
    const p = compileProblems(
      err([
        { field: 'files["masking.rego"]', message: "masking.rego:22:9: var cannot be used for rule name" },
        { field: 'files["masking.rego"]', message: "masking.rego:5:1: unexpected } token" },
        { field: 'files["masking_test.rego"]', message: "masking_test.rego:3:2: rego_type_error: undefined function" },
      ]),
      ["masking.rego", "masking_test.rego"],
    );
    expect(p.general).toEqual([]);
    expect(p.lines).toEqual([
      { file: "masking.rego", line: 5, col: 1, message: "unexpected } token" },
      { file: "masking.rego", line: 22, col: 9, message: "var cannot be used for rule name" },
      { file: "masking_test.rego", line: 3, col: 2, message: "rego_type_error: undefined function" },
    ]);
    expect([...linesOf(p.lines, "masking.rego").keys()]).toEqual([5, 22]);
    expect(linesOf(p.lines, "masking.rego").get(22)).toEqual(["column 9: var cannot be used for rule name"]);
  });

  it("keeps problems without a position, or in other modules, as general ones", () => {
    const p = compileProblems(
      err([
        { field: 'files["masking_x.rego"]', message: "file names must be masking.rego or masking_<suffix>.rego, lower case" },
        { field: "files", message: "admission.rego:4:2: rego_recursion_error" },
        { field: 'files["m.rego"]', message: "must be at most 262144 bytes" },
      ]),
      ["masking.rego", "m.rego"],
    );
    expect(p.lines).toEqual([{ file: "m.rego", line: 0, col: 0, message: "must be at most 262144 bytes" }]);
    expect(p.general.map((g) => g.field)).toEqual(['files["masking_x.rego"]', "files"]);
  });

  it("reads quoted file names in field paths", () => {
    expect(fileOfField('files["masking.rego"]')).toBe("masking.rego");
    expect(fileOfField("files")).toBe("");
    expect(fileOfField("message")).toBe("");
  });
});

describe("offsetOf", () => {
  it("finds a 1-based line and column, clamped to the line", () => {
    const t = "ab\ncdef\ng";
    expect(offsetOf(t, 1, 1)).toBe(0);
    expect(offsetOf(t, 2, 3)).toBe(5);
    expect(offsetOf(t, 2, 99)).toBe(7);
    expect(offsetOf(t, 9, 1)).toBe(t.length);
  });
});

describe("publishing rules", () => {
  const base = { dirty: false, draftChanged: true, version: 4n };
  it("needs tests that passed on this very draft version", () => {
    expect(publishBlockers({ ...base, tests: null })).toHaveLength(1);
    expect(publishBlockers({ ...base, tests: { version: 3n, passed: true } })[0]).toMatch(/changed since the tests/);
    expect(publishBlockers({ ...base, tests: { version: 4n, passed: false } })[0]).toMatch(/did not pass/);
    expect(publishBlockers({ ...base, tests: { version: 4n, passed: true } })).toEqual([]);
  });
  it("refuses unsaved edits and an unchanged draft", () => {
    expect(publishBlockers({ ...base, dirty: true, tests: { version: 4n, passed: true } })[0]).toMatch(/Save your edits/);
    expect(publishBlockers({ ...base, draftChanged: false, tests: { version: 4n, passed: true } })[0]).toMatch(/nothing to publish/);
  });
  it("compares file sets and orders tests last", () => {
    expect(sameFiles({ a: "1", b: "2" }, { b: "2", a: "1" })).toBe(true);
    expect(sameFiles({ a: "1" }, { a: "1", b: "" })).toBe(false);
    expect(fileOrder(["m_test.rego", "m_z.rego", "m.rego"])).toEqual(["m.rego", "m_z.rego", "m_test.rego"]);
  });
  it("starts a new module with a policy and a test named after it", () => {
    expect(Object.keys(newModuleFiles("retention")).sort()).toEqual(["retention.rego", "retention_test.rego"]);
    expect(newModuleFiles("retention")["retention.rego"]).toContain("package meshplane.retention\n");
  });
});

describe("masking in words", () => {
  const d = (o: Partial<{ action: string; chars: number; length: number; salt: string; algorithm: string; fallback: boolean }>) =>
    create(MaskingDecisionSchema, o);
  it("describes each action", () => {
    expect(describeMasking(d({ action: "hash", algorithm: "SHA-256", salt: "default" }))).toBe("hashed (SHA-256, salt “default”)");
    expect(describeMasking(d({ action: "mask", chars: 8 }))).toBe("masked with 8 “*” characters");
    expect(describeMasking(d({ action: "truncate", length: 4 }))).toBe("truncated to its first 4 characters");
    expect(describeMasking(d({ action: "drop", fallback: true }))).toMatch(/^dropped .*fallback/);
    expect(describeMasking(undefined)).toMatch(/no decision/);
  });
  it("says whether a change protects more", () => {
    expect(maskingDirection(d({ action: "hash" }), d({ action: "drop" }))).toBe("stricter");
    expect(maskingDirection(d({ action: "hash" }), d({ action: "allow" }))).toBe("looser");
    expect(maskingDirection(undefined, d({ action: "mask" }))).toBe("stricter");
  });
});
