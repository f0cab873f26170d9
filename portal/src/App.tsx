// The portal's frame: navigation for domain teams and governance officers,
// sign-in, and the route table.
import { lazy, Suspense, type ReactNode } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { IdentityService } from "./gen/meshplane/v1/identity_pb";
import { useSession } from "./lib/session";
import { Link, match, useLocation } from "./lib/router";
import { Loading } from "./lib/ui";
import { audiences, nav } from "./lib/nav";
import { SignIn } from "./screens/SignIn";
import { Catalog } from "./screens/Catalog";
import { Product } from "./screens/Product";
import { AccessPage } from "./screens/Access";



// Screens most visits never open load on first use, keeping the initial
// script small; the catalog, product page and access stay in it.
const Wizard = lazy(() => import("./screens/Wizard").then((m) => ({ default: m.Wizard })));
const RunPage = lazy(() => import("./screens/Run").then((m) => ({ default: m.RunPage })));
const Policies = lazy(() => import("./screens/Policies").then((m) => ({ default: m.Policies })));
const Roles = lazy(() => import("./screens/Roles").then((m) => ({ default: m.Roles })));
const AuditExplorer = lazy(() => import("./screens/Audit").then((m) => ({ default: m.AuditExplorer })));
const Webhooks = lazy(() => import("./screens/Webhooks").then((m) => ({ default: m.Webhooks })));

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
  if (path === "/webhooks") return <Webhooks />;
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
  const me = useQuery(IdentityService.method.whoAmI, {}, { enabled: !!principal });
  const reach = audiences((me.data?.roleBindings ?? []).map((b) => b.role));
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
        {["Domain teams", "Governance"].map((section) => {
          const items = nav.filter((n) => n.section === section && reach.has(n.audience));
          if (items.length === 0) return null;
          return (
          <div key={section}>
            <p className="nav-section">{section}</p>
            <ul>
              {items.map((n) => (
                  <li key={n.to}>
                    <Link to={n.to} aria-current={isCurrent(n.to, path) ? "page" : undefined}>
                      {n.label}
                    </Link>
                  </li>
                ))}
            </ul>
          </div>
          );
        })}
      </nav>
      <main id="main">
        <Suspense fallback={<Loading what="Loading the screen" />}>{route(path)}</Suspense>
      </main>
    </div>
  );
}

function isCurrent(to: string, path: string): boolean {
  if (to === "/") return path === "/" || (path.startsWith("/products/") && path !== "/products/new");
  return path === to || path.startsWith(to + "/");
}
