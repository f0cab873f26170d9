// Moving a product along its lifecycle from its page: publish a draft to the
// catalog, deprecate an active product, reactivate a deprecated one. The
// server judges the move (and admission) like any other update.
import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, Lifecycle, type DataProduct } from "../../gen/meshplane/v1/catalog_pb";
import { describeError } from "../../lib/api";
import { ErrorBanner } from "../../lib/ui";

/** nextMove is the lifecycle move a product's page offers, if any. */
export function nextMove(l: Lifecycle): { to: Lifecycle; label: string; help: string } | null {
  switch (l) {
    case Lifecycle.DRAFT:
      return { to: Lifecycle.ACTIVE, label: "Publish as active", help: "Consumers can find it and request access; edits then need an owner." };
    case Lifecycle.ACTIVE:
      return { to: Lifecycle.DEPRECATED, label: "Deprecate", help: "Tells consumers to move away; it keeps running until decommissioned." };
    case Lifecycle.DEPRECATED:
      return { to: Lifecycle.ACTIVE, label: "Reactivate", help: "Makes it active again." };
    default:
      return null;
  }
}

export function LifecycleAction({ p }: { p: DataProduct }) {
  const qc = useQueryClient();
  const move = useMutation(CatalogService.method.updateDataProduct, { onSuccess: () => void qc.invalidateQueries() });
  const next = nextMove(p.lifecycle);
  if (!next) return null;
  return (
    <>
      <button
        type="button"
        className="button"
        title={next.help}
        disabled={move.isPending}
        onClick={() =>
          move.mutate({
            domain: p.domain,
            name: p.name,
            version: p.version,
            lifecycle: next.to,
            spec: { description: p.description, owner: p.owner, labels: p.labels, source: p.source, ports: p.ports, sinks: p.sinks },
          })
        }
      >
        {move.isPending ? "Saving…" : next.label}
      </button>
      {move.error && <ErrorBanner error={describeError(move.error)} title={`Could not ${next.label.toLowerCase()}`} />}
    </>
  );
}
