// A plain-text code editor: a labelled <textarea> with a line-number
// gutter, lines the server complained about marked (gutter and a band
// behind the text), Tab indenting with spaces, and Escape releasing Tab
// so keyboard users are never trapped.
import { useRef, useState, type KeyboardEvent, type RefObject } from "react";
import { offsetOf } from "./problems";
import "./governance.css";

/** Pixel metrics shared with governance.css (.code-editor). */
const LINE_HEIGHT = 20;
const PAD_TOP = 8;
const INDENT = "    ";

export function CodeEditor(props: {
  id: string;
  describedBy?: string;
  value: string;
  onChange?(value: string): void;
  /** marked maps 1-based line numbers to what is wrong there. */
  marked?: Map<number, string[]>;
  readOnly?: boolean;
  textareaRef?: RefObject<HTMLTextAreaElement | null>;
  minLines?: number;
}) {
  const own = useRef<HTMLTextAreaElement | null>(null);
  const ref = props.textareaRef ?? own;
  const [scroll, setScroll] = useState({ top: 0, left: 0 });
  const released = useRef(false);
  const count = Math.max(1, props.value.split("\n").length);
  const marked = props.marked ?? new Map<number, string[]>();
  const rows = Math.min(32, Math.max(props.minLines ?? 12, count + 1));

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Escape") {
      released.current = true;
      return;
    }
    if (e.key !== "Tab" || props.readOnly || e.ctrlKey || e.altKey || e.metaKey) {
      released.current = false;
      return;
    }
    if (released.current) {
      released.current = false;
      return; // Tab moves focus as usual after Escape.
    }
    e.preventDefault();
    const ta = e.currentTarget;
    const { selectionStart: s, selectionEnd: end, value } = ta;
    if (e.shiftKey) {
      const lineStart = value.lastIndexOf("\n", s - 1) + 1;
      const lead = /^ {1,4}|^\t/.exec(value.slice(lineStart))?.[0] ?? "";
      if (!lead) return;
      ta.setSelectionRange(lineStart, lineStart + lead.length);
      replaceSelection(ta, "", props.onChange);
      const back = Math.max(lineStart, s - lead.length);
      ta.setSelectionRange(back, Math.max(back, end - lead.length));
      return;
    }
    replaceSelection(ta, INDENT, props.onChange);
  }

  return (
    <div className={"code-editor" + (props.readOnly ? " readonly" : "")}>
      <div className="gutter" aria-hidden="true">
        <div className="gutter-inner" style={{ transform: `translateY(${-scroll.top}px)` }}>
          {Array.from({ length: count }, (_, i) => (
            <div key={i} className={marked.has(i + 1) ? "ln bad" : "ln"} title={marked.get(i + 1)?.join("\n")}>
              {marked.has(i + 1) ? "! " : ""}
              {i + 1}
            </div>
          ))}
        </div>
      </div>
      <div className="code-area">
        <div className="marks" aria-hidden="true" style={{ transform: `translateY(${-scroll.top}px)` }}>
          {[...marked.keys()].map((line) => (
            <div key={line} className="mark" style={{ top: PAD_TOP + (line - 1) * LINE_HEIGHT }} />
          ))}
        </div>
        <textarea
          id={props.id}
          ref={ref}
          className="code"
          value={props.value}
          readOnly={props.readOnly}
          rows={rows}
          wrap="off"
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          autoCorrect="off"
          aria-describedby={props.describedBy || undefined}
          aria-invalid={marked.size > 0 || undefined}
          onChange={(e) => props.onChange?.(e.target.value)}
          onKeyDown={onKeyDown}
          onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, left: e.currentTarget.scrollLeft })}
        />
      </div>
    </div>
  );
}

/** replaceSelection types text over the selection, keeping the browser's undo history where it can. */
function replaceSelection(ta: HTMLTextAreaElement, text: string, onChange?: (v: string) => void) {
  ta.focus();
  let done = false;
  try {
    // execCommand keeps undo working; it fires the input event React listens to.
    done = document.execCommand(text ? "insertText" : "delete", false, text);
  } catch {
    done = false;
  }
  if (!done) {
    const { selectionStart: s, selectionEnd: end, value } = ta;
    const next = value.slice(0, s) + text + value.slice(end);
    onChange?.(next);
    requestAnimationFrame(() => ta.setSelectionRange(s + text.length, s + text.length));
  }
}

/** goToLine focuses the editor with the caret at line:col and scrolls the line into view. */
export function goToLine(ta: HTMLTextAreaElement | null, line: number, col = 1) {
  if (!ta) return;
  const at = offsetOf(ta.value, line, col);
  ta.focus();
  ta.setSelectionRange(at, at);
  const top = PAD_TOP + (line - 1) * LINE_HEIGHT;
  if (top < ta.scrollTop || top > ta.scrollTop + ta.clientHeight - LINE_HEIGHT * 2) {
    ta.scrollTop = Math.max(0, top - ta.clientHeight / 3);
  }
}
