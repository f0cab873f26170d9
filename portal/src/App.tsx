// The portal's frame: navigation for domain teams and governance officers,
// sign-in, and the route table.
import type { ReactNode } from "react";
import { useSession } from "./lib/session";
import { Link, match, useLocation } from "./lib/router";
import { Loading } from "./lib/ui";
import { SignIn } from "./screens/SignIn";
import { Catalog } from "./screens/Catalog";
import { Product } from "./screens/Product";
import { Wizard } from "./screens/Wizard";
import { RunPage } from "./screens/Run";
import { AccessPage } from "./screens/Access";
import { Policies } from "./screens/Policies";
import { Roles } from "./screens/Roles";
import { AuditExplorer } from "./screens/Audit";

const nav: { to: string; label: string; section: string }[] = [
  { to: "/", label: "Catalog", section: "Domain teams" },
  { to: "/products/new", label: "Register a product", section: "Domain teams" },
  { to: "/access", label: "Access", section: "Domain teams" },
  { to: "/governance/policies", label: "Policies", section: "Governance" },
  { to: "/governance/roles", label: "Roles", section: "Governance" },
  { to: "/audit", label: "Audit log", section: "Governance" },
];

function route(path: string): ReactNode {
  let m: Record<string, string> | null;
  if (path === "/" || path === "/products") return <Catalog />;
  if (path === "/products/new") return <Wizard />;
  if ((m = match("/products/:domain/:name/edit", path))) return <Wizard domain={m.domain} name={m.name} />;
  if ((m = match("/products/:domain/:name", path))) return <Product domain={m.domain} name={m.name} />;
  if ((m = match("/products/:domain/:name/:tab", path))) return <Product domain={m.domain} name={m.name} tab={m.tab} />;
  if ((m = match("/runs/:id", path))) return <RunPage id={m.id} />;
  if (path === "/access") return <AccessPage />;
  if (path === "/governance/policies") return <Policies />;
  if ((m = match("/governance/policies/:name", path))) return <Policies name={m.name} />;
  if (path === "/governance/roles") return <Roles />;
  if (path === "/audit") return <AuditExplorer />;
  return (
    <section className="page">
      <h1 id="page-title">Page not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link to="/">Go to the catalog</Link>.
      </p>
    </section>
  );
}

export function App() {
  const { principal, loading, signOut } = useSession();
  const { path } = useLocation();
  if (loading) return <Loading what="Checking your session" />;
  if (!principal) return <SignIn />;
  return (
    <div className="frame">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          meshplane
        </Link>
        <span className="who" aria-label="Signed in as">
          {principal.name}
          {principal.domain && <span className="muted"> · {principal.domain}</span>}
        </span>
        <button className="button ghost" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav className="side" aria-label="Main">
        {["Domain teams", "Governance"].map((section) => (
          <div key={section}>
            <p className="nav-section">{section}</p>
            <ul>
              {nav
                .filter((n) => n.section === section)
                .map((n) => (
                  <li key={n.to}>
                    <Link to={n.to} aria-current={isCurrent(n.to, path) ? "page" : undefined}>
                      {n.label}
                    </Link>
                  </li>
                ))}
            </ul>
          </div>
        ))}
      </nav>
      <main id="main">{route(path)}</main>
    </div>
  );
}

function isCurrent(to: string, path: string): boolean {
  if (to === "/") return path === "/" || (path.startsWith("/products/") && path !== "/products/new");
  return path === to || path.startsWith(to + "/");
}
