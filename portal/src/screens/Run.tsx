export function RunPage(props: { id: string }) {
  return <section className="page"><h1 id="page-title">Run {props.id}</h1></section>;
}
