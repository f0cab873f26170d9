// Who sees which entry: the server decides every call anyway; the menu only
// avoids offering screens whose every call would be refused.
export type Audience = "everyone" | "governance" | "auditors";
export const nav: { to: string; label: string; section: string; audience: Audience }[] = [
  { to: "/", label: "Catalog", section: "Domain teams", audience: "everyone" },
  { to: "/products/new", label: "Register a product", section: "Domain teams", audience: "everyone" },
  { to: "/access", label: "Access", section: "Domain teams", audience: "everyone" },
  { to: "/webhooks", label: "Webhooks", section: "Domain teams", audience: "auditors" },
  { to: "/governance/policies", label: "Policies", section: "Governance", audience: "governance" },
  { to: "/governance/roles", label: "Roles", section: "Governance", audience: "governance" },
  { to: "/audit", label: "Audit log", section: "Governance", audience: "auditors" },
];

/** audiences returns the menu audiences a principal's role bindings reach. */
export function audiences(roles: string[]): Set<Audience> {
  const out = new Set<Audience>(["everyone"]);
  if (roles.some((r) => r === "platform-admin" || r === "governance-officer")) out.add("governance").add("auditors");
  if (roles.includes("domain-owner")) out.add("auditors");
  return out;
}
