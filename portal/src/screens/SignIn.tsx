import { useState } from "react";
import { useSession } from "../lib/session";
import { Field } from "../lib/ui";

/** SignIn exchanges a pasted API token for a session; the token is not kept. */
export function SignIn() {
  const { signIn } = useSession();
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" className="signin">
      <h1>Sign in to meshplane</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          try {
            await signIn(token.trim());
            setToken("");
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field
          label="API token"
          errors={error ? [error] : []}
          help={
            <>
              Paste a token that starts with <code>mp_</code>. On a new server the first admin token is in{" "}
              <code>meshplane-data/admin.token</code>. The portal trades it for a session that ends after 12 hours or when you sign
              out; the token itself is not stored in the browser.
            </>
          }
        >
          {(id, describedBy) => (
            <input
              id={id}
              aria-describedby={describedBy}
              type="password"
              autoComplete="off"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
            />
          )}
        </Field>
        <button className="button primary" type="submit" disabled={busy || !token.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
