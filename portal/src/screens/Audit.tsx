export function AuditExplorer() {
  return <section className="page"><h1 id="page-title">Audit log</h1></section>;
}
