export function Product(props: { domain: string; name: string; tab?: string }) {
  return <section className="page"><h1 id="page-title">{props.domain}/{props.name}</h1></section>;
}
