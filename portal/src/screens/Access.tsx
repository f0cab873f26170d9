export function AccessPage() {
  return <section className="page"><h1 id="page-title">Access</h1></section>;
}
