export function Wizard(props: { domain?: string; name?: string }) {
  return <section className="page"><h1 id="page-title">{props.name ? "Edit " + props.name : "Register a product"}</h1></section>;
}
