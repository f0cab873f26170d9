import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render } from "@testing-library/react";
import { useState } from "react";
import { rbacProblems, linesOf } from "./governance/problems";
import { CodeEditor } from "./governance/CodeEditor";
import type { ApiError } from "../lib/api";

afterEach(cleanup);

const refused: ApiError = {
  code: "InvalidArgument",
  reason: "INVALID_ARGUMENT",
  message: "invalid request",
  violations: [
    { field: "policy.lines[81]", message: 'want "p, role:NAME, OBJECT, ACTION", got "p, role:viewer product read"' },
    { field: "policy.lines[80]", message: 'unknown action "erase" on grant' },
    { field: "policy", message: 'role "platform-admin" lacks "p, role:platform-admin, *, *"' },
    { field: "version", message: "is required" },
  ],
};

describe("rbacProblems", () => {
  it("pins policy.lines[N] to line N, in line order, and keeps whole-text problems apart", () => {
    const p = rbacProblems(refused);
    expect(p.lines.map((l) => [l.line, l.message.slice(0, 14)])).toEqual([
      [80, "unknown action"],
      [81, 'want "p, role:'],
    ]);
    expect(p.general).toEqual([{ field: "policy", message: 'role "platform-admin" lacks "p, role:platform-admin, *, *"' }]);
    expect([...linesOf(p.lines, "").keys()]).toEqual([80, 81]);
  });
  it("has nothing to say without an error", () => {
    expect(rbacProblems(null)).toEqual({ lines: [], general: [] });
  });
});

function Harness(props: { initial: string; marked?: Map<number, string[]> }) {
  const [v, setV] = useState(props.initial);
  return (
    <>
      <label htmlFor="ed">Role definition lines</label>
      <CodeEditor id="ed" value={v} onChange={setV} marked={props.marked} />
      <button type="button">Next</button>
    </>
  );
}

describe("CodeEditor", () => {
  it("is a labelled textarea with a line number per line and marked lines", () => {
    const r = render(<Harness initial={"a\nb\nc"} marked={new Map([[2, ["bad"]]])} />);
    const ta = r.getByLabelText("Role definition lines") as HTMLTextAreaElement;
    expect(ta.tagName).toBe("TEXTAREA");
    expect(ta.getAttribute("aria-invalid")).toBe("true");
    const gutter = r.container.querySelectorAll(".gutter .ln");
    expect([...gutter].map((g) => g.textContent)).toEqual(["1", "! 2", "3"]);
    expect(r.container.querySelector(".gutter")?.getAttribute("aria-hidden")).toBe("true");
    expect(r.container.querySelectorAll(".marks .mark")).toHaveLength(1);
  });

  it("indents with spaces on Tab and lets Tab through after Escape", () => {
    const r = render(<Harness initial={"x"} />);
    const ta = r.getByLabelText("Role definition lines") as HTMLTextAreaElement;
    ta.focus();
    ta.setSelectionRange(0, 0);
    const first = fireEvent.keyDown(ta, { key: "Tab" });
    expect(first).toBe(false); // default prevented: Tab stays in the editor
    expect(ta.value).toBe("    x");
    fireEvent.keyDown(ta, { key: "Escape" });
    const second = fireEvent.keyDown(ta, { key: "Tab" });
    expect(second).toBe(true); // not prevented: focus may move on
    expect(ta.value).toBe("    x");
  });
});
