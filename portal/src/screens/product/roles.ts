// What the signed-in person may do to a product, guessed from their role
// bindings only to hide buttons that would certainly be refused. The server
// decides: any role this file does not know leaves every action offered.
import type { RoleBinding } from "../../gen/meshplane/v1/identity_pb";

const known: Record<string, { change: boolean; decommission: boolean; operate: boolean }> = {
  "platform-admin": { change: true, decommission: true, operate: true },
  "domain-owner": { change: true, decommission: true, operate: true },
  "domain-member": { change: true, decommission: false, operate: false },
  "governance-officer": { change: false, decommission: false, operate: false },
  viewer: { change: false, decommission: false, operate: false },
};

export interface Allowed {
  /** change covers Edit and Plan. */
  change: boolean;
  decommission: boolean;
  /** operate covers restarting, pausing and resuming the product's connectors. */
  operate: boolean;
  /** roles are the caller's roles that apply in the domain. */
  roles: string[];
}

/** allowedActions says which product actions the caller's roles in domain allow. */
export function allowedActions(bindings: Pick<RoleBinding, "role" | "domain">[] | undefined, domain: string): Allowed {
  if (!bindings) return { change: true, decommission: true, operate: true, roles: [] };
  const roles = [...new Set(bindings.filter((b) => b.domain === domain || b.domain === "*").map((b) => b.role))];
  if (roles.some((r) => !(r in known))) return { change: true, decommission: true, operate: true, roles };
  return {
    change: roles.some((r) => known[r].change),
    decommission: roles.some((r) => known[r].decommission),
    operate: roles.some((r) => known[r].operate),
    roles,
  };
}
