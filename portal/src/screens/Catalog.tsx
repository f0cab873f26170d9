export function Catalog() {
  return <section className="page"><h1 id="page-title">Catalog</h1></section>;
}
