// Follows a run live over ProvisioningService.WatchRun: the server sends the
// log so far, the current state, then new lines and state changes until the
// run settles. A stream that breaks off while the run is still going is
// reopened with backoff; reopening is safe because lines already shown are
// recognized and skipped.
import { useCallback, useEffect, useRef, useState } from "react";
import { RunState } from "../../gen/meshplane/v1/provisioning_pb";
import { describeError, provisioning } from "../../lib/api";
import { backoff, isSettled, mergeLine, startConnection, type LogState } from "./model";

export type Conn =
  | { status: "idle" }
  | { status: "connecting" }
  | { status: "live" }
  | { status: "ended" }
  | { status: "retrying"; attempt: number; retryAt: number; message: string }
  | { status: "error"; message: string };

/** logLines splits a stored log the way the server replays it (no blank lines). */
export function logLines(log: string): string[] {
  return log
    .replace(/\n$/, "")
    .split("\n")
    .filter((l) => l !== "");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export function useRunWatch(
  id: string,
  active: boolean,
  handlers: { onState(s: RunState): void; onSettled(s: RunState): void },
): { log: LogState; setLines(lines: string[]): void; conn: Conn; reconnect(): void } {
  const [log, setLog] = useState<LogState>({ lines: [], seen: 0 });
  const [conn, setConn] = useState<Conn>({ status: "idle" });
  const [generation, setGeneration] = useState(0);
  const h = useRef(handlers);
  h.current = handlers;

  useEffect(() => {
    if (!active) {
      setConn((c) => (c.status === "ended" ? c : { status: "idle" }));
      return;
    }
    const ac = new AbortController();
    let pending: string[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      flushTimer = null;
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      setLog((s) => batch.reduce(mergeLine, s));
    };
    const push = (line: string) => {
      pending.push(line);
      if (!flushTimer) flushTimer = setTimeout(flush, 60);
    };
    void (async () => {
      let attempt = 0;
      while (!ac.signal.aborted) {
        setLog(startConnection);
        setConn({ status: "connecting" });
        let last: RunState | undefined;
        let message = "the connection ended early";
        let live = false;
        try {
          for await (const m of provisioning.watchRun({ id }, { signal: ac.signal })) {
            if (!live) {
              live = true;
              attempt = 0;
              setConn({ status: "live" });
            }
            if (m.state !== RunState.UNSPECIFIED) {
              flush();
              last = m.state;
              h.current.onState(m.state);
            } else {
              push(m.line.replace(/\x1b\[[0-9;]*m/g, ""));
            }
          }
          flush();
          if (last !== undefined && isSettled(last)) {
            setConn({ status: "ended" });
            h.current.onSettled(last);
            return;
          }
        } catch (e) {
          flush();
          if (ac.signal.aborted) return;
          const err = describeError(e);
          if (err.code === "NotFound" || err.code === "PermissionDenied" || err.code === "Unauthenticated") {
            setConn({ status: "error", message: err.message });
            return;
          }
          message = err.message || message;
        }
        attempt += 1;
        const delay = backoff(attempt);
        setConn({ status: "retrying", attempt, retryAt: Date.now() + delay, message });
        await sleep(delay, ac.signal);
      }
    })();
    return () => {
      ac.abort();
      if (flushTimer) clearTimeout(flushTimer);
    };
  }, [id, active, generation]);

  const setLines = useCallback((lines: string[]) => setLog({ lines, seen: 0 }), []);
  const reconnect = useCallback(() => setGeneration((g) => g + 1), []);
  return { log, setLines, conn, reconnect };
}
