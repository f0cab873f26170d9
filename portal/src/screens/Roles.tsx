export function Roles() {
  return <section className="page"><h1 id="page-title">Roles</h1></section>;
}
