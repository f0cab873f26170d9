// Governance officers' policy screens: the list of modules, and one
// module's draft, tests, impact, publishing, versions and decision log.
import { PolicyList } from "./governance/PolicyList";
import { PolicyModulePage } from "./governance/PolicyModule";

export function Policies(props: { name?: string }) {
  return props.name ? <PolicyModulePage key={props.name} name={props.name} /> : <PolicyList />;
}
