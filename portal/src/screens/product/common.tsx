// Small building blocks the product page's tabs share.
import { useState, type ReactNode } from "react";

/** Facts is a definition list laid out as two columns. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="product-facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** TableScroll lets a wide table scroll sideways; it can be focused to scroll by keyboard. */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="catalog-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** usePages walks a list's page tokens forward and back. */
export function usePages() {
  const [stack, setStack] = useState<string[]>([""]);
  return {
    token: stack[stack.length - 1],
    number: stack.length,
    next: (t: string) => setStack((s) => [...s, t]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([""]),
  };
}

/** PageButtons offers the previous and next page of a list, when there are any. */
export function PageButtons(props: { pages: ReturnType<typeof usePages>; next: string; label: string }) {
  const { pages, next } = props;
  if (pages.number === 1 && !next) return null;
  return (
    <nav className="row catalog-pager" aria-label={props.label}>
      {pages.number > 1 && (
        <button type="button" className="button" onClick={pages.previous}>
          Previous page
        </button>
      )}
      <span className="muted">Page {pages.number}</span>
      {next && (
        <button type="button" className="button" onClick={() => pages.next(next)}>
          Next page
        </button>
      )}
    </nav>
  );
}

/** Code shows an identifier people may copy (a topic, a secret reference). */
export function Mono({ children }: { children: ReactNode }) {
  return <code className="product-mono-wrap">{children}</code>;
}
