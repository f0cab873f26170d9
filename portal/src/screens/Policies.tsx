export function Policies(props: { name?: string }) {
  return <section className="page"><h1 id="page-title">Policies {props.name}</h1></section>;
}
