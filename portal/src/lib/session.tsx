// Sign-in: a pasted API token is exchanged once for an HttpOnly session
// cookie; the portal keeps only the CSRF token, in memory.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { csrfHeaders, setCSRFToken, setUnauthenticatedHandler } from "./api";

export interface Principal {
  name: string;
  kind: string;
  domain: string;
}

interface SessionState {
  principal: Principal | null;
  loading: boolean;
  signIn(token: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

interface SessionAnswer {
  principal: Principal;
  csrfToken: string;
  code?: string;
  message?: string;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    setUnauthenticatedHandler(() => setPrincipal(null));
    fetch("/auth/session", { credentials: "same-origin" })
      .then(async (r) => {
        if (!r.ok) return;
        const s = (await r.json()) as SessionAnswer;
        setCSRFToken(s.csrfToken);
        setPrincipal(s.principal);
      })
      .finally(() => setLoading(false));
  }, []);

  const signIn = useCallback(async (token: string) => {
    const r = await fetch("/auth/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    const s = (await r.json()) as SessionAnswer;
    if (!r.ok) throw new Error(s.message ?? "sign-in failed");
    setCSRFToken(s.csrfToken);
    setPrincipal(s.principal);
  }, []);

  const signOut = useCallback(async () => {
    await fetch("/auth/session", { method: "DELETE", credentials: "same-origin", headers: csrfHeaders() });
    setCSRFToken("");
    setPrincipal(null);
  }, []);

  return <SessionContext.Provider value={{ principal, loading, signIn, signOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}
