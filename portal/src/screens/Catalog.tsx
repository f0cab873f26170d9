// The catalog: every data product the caller may see, searchable and
// filtered by facets kept in the URL, with what each holds and whether its
// infrastructure is in sync.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { keepPreviousData } from "@tanstack/react-query";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService, type DataProduct } from "../gen/meshplane/v1/catalog_pb";
import { describeError, violationsFor, type ApiError } from "../lib/api";
import { Link, setQuery, useLocation } from "../lib/router";
import { EmptyState, ErrorBanner, Field, Loading, Page, When, dateOf } from "../lib/ui";
import {
  classOptions,
  clearAll,
  describeFilters,
  facetCounts,
  filtersFromQuery,
  healthOptions,
  isFiltered,
  lifecycleOptions,
  listRequest,
  optionLabel,
  PAGE_SIZE,
  parseLabels,
  queryChange,
  sortOptions,
  type Filters,
} from "./catalog/filters";
import { ClassBadge, classificationsOf, HealthBadge, LifecycleBadge, lifecycleWords, pendingChanges, productPath } from "./catalog/model";
import { Classification, type DataProductFacets } from "../gen/meshplane/v1/catalog_pb";
import "./catalog/Catalog.css";

/** The request fields whose server violations are shown next to a filter. */
const pinned = ["text", "domain", "lifecycle", "labels", "health", "classification"];

export function Catalog() {
  const { query } = useLocation();
  const f = filtersFromQuery(query);
  const labelProblems = parseLabels(f.labels).problems;

  const list = useQuery(CatalogService.method.listDataProducts, listRequest(f), { placeholderData: keepPreviousData });
  const err = list.error ? describeError(list.error) : null;
  const unpinned = err && (err.violations.length === 0 || err.violations.some((v) => !pinned.some((p) => v.field === p || v.field.startsWith(p + "."))));

  // Tokens of the pages before this one, so "Previous page" can go back.
  const [before, setBefore] = useState<string[]>([]);
  const filterKey = JSON.stringify([f.q, f.domain, f.lifecycle, f.labels, f.health, f.classification, f.sort]);
  const lastKey = useRef(filterKey);
  useEffect(() => {
    if (lastKey.current !== filterKey) {
      lastKey.current = filterKey;
      setBefore([]);
    }
  }, [filterKey]);

  const products = list.data?.dataProducts ?? [];
  const next = list.data?.nextPageToken ?? "";
  const facets = list.data?.facets;

  return (
    <Page
      title="Catalog"
      description="Every data product you may see: what it publishes, who owns it, whether it holds personal data and whether its infrastructure matches what was approved."
    >
      <SearchBox value={f.q} errors={violationsFor(err, "text")} />
      <Facets filters={f} err={err} labelProblems={labelProblems} facets={facets} />

      {err && unpinned && <ErrorBanner error={err} title="The catalog could not be searched" />}

      {list.isPending ? (
        <Loading what="Loading the catalog" />
      ) : (
        <>
          <p className="catalog-status" role="status" aria-live="polite">
            {resultsSentence(products.length, next !== "", before.length, f, facets?.totalSize)}
          </p>
          {products.length === 0 && !err ? (
            isFiltered(f) ? (
              <EmptyState title="No products match these filters" action={{ to: clearedPath(), label: "Clear all filters" }}>
                Nothing is {describeFilters(f)}. Try fewer words or another facet, or clear the filters to see the whole catalog.
              </EmptyState>
            ) : f.page ? (
              <EmptyState title="This page is empty" action={{ to: clearedPath(), label: "Back to the first page" }}>
                The products on this page may have been removed since you opened it.
              </EmptyState>
            ) : (
              <EmptyState title="No data products yet" action={{ to: "/products/new", label: "Register a product" }}>
                Register your team's first data product: the database it captures changes from, the Kafka topics it publishes and
                who owns it.
              </EmptyState>
            )
          ) : (
            products.length > 0 && <ResultsTable products={products} busy={list.isPlaceholderData} />
          )}
          <Pager
            page={f.page}
            next={next}
            before={before}
            onNext={() => {
              setBefore([...before, f.page]);
              setQuery(queryChange("page", next));
            }}
            onPrevious={() => {
              const prev = before[before.length - 1] ?? "";
              setBefore(before.slice(0, -1));
              setQuery(queryChange("page", prev));
            }}
            onFirst={() => {
              setBefore([]);
              setQuery(queryChange("page", ""));
            }}
          />
        </>
      )}
    </Page>
  );
}

function resultsSentence(n: number, more: boolean, pagesBefore: number, f: Filters, total: number | undefined): string {
  if (n === 0) return isFiltered(f) ? "No products match." : "";
  const narrowed = isFiltered(f) ? ` ${describeFilters(f)}` : "";
  if (total !== undefined && (more || pagesBefore > 0 || f.page)) {
    // The page's position is known only when paged here (a reloaded page token has lost it).
    const known = !f.page || pagesBefore > 0;
    const from = pagesBefore * PAGE_SIZE + 1;
    const range = known ? `${from} to ${from + n - 1}` : `${n}`;
    return `Showing ${range} of ${total} product${total === 1 ? "" : "s"}${narrowed}.`;
  }
  if (total !== undefined) return `${total} product${total === 1 ? "" : "s"}${narrowed}.`;
  const what = `${n} product${n === 1 ? "" : "s"}`;
  const where = pagesBefore > 0 ? ` on page ${pagesBefore + 1}` : f.page ? " on this page" : "";
  return `${what}${narrowed}${where}${more ? "; more on the next page" : ""}.`;
}

/** clearedPath is the catalog without filters or page, keeping the sort. */
function clearedPath(): string {
  const p = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(clearAll())) if (!v) p.delete(k);
  const s = p.toString();
  return window.location.pathname + (s ? "?" + s : "");
}

/** SearchBox searches as you type (after a short pause) and on Enter. */
function SearchBox({ value, errors }: { value: string; errors: string[] }) {
  const [text, setText] = useState(value);
  // Follow the URL when it changes from elsewhere (back button, clear filters).
  useEffect(() => {
    setText((t) => (t.trim() === value ? t : value));
  }, [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const t = setTimeout(() => setQuery(queryChange("q", text.trim())), 350);
    return () => clearTimeout(t);
  }, [text, value]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim() !== value) setQuery(queryChange("q", text.trim()));
  };
  return (
    <form role="search" className="catalog-search" onSubmit={submit}>
      <Field
        label="Search products"
        errors={errors}
        help="Finds products whose name, description, ports, field names, field tags or classifications contain every word, e.g. “orders”, “email” or “pii”."
      >
        {(id, describedBy, bad) => (
          <div className="row">
            <input
              id={id}
              aria-invalid={bad || undefined}
              type="search"
              value={text}
              onChange={(e) => setText(e.target.value)}
              aria-describedby={describedBy || undefined}
              maxLength={256}
              autoComplete="off"
            />
            <button type="submit" className="button">
              Search
            </button>
          </div>
        )}
      </Field>
    </form>
  );
}

function Facets(props: { filters: Filters; err: ApiError | null; labelProblems: string[]; facets: DataProductFacets | undefined }) {
  const { filters: f, err, labelProblems } = props;
  const domains = useQuery(CatalogService.method.listDomains, { pageSize: 500 });
  const names = (domains.data?.domains ?? []).map((d) => d.name);
  if (f.domain && !names.includes(f.domain)) names.push(f.domain);
  const counts = facetCounts(props.facets, f);
  return (
    <fieldset className="facets catalog-facets">
      <legend>Narrow the results</legend>
      <Field label="Domain" help="The team area that owns the product." errors={violationsFor(err, "domain")}>
        {(id, d, bad) => (
          <select id={id} aria-describedby={d || undefined} aria-invalid={bad || undefined} value={f.domain} onChange={(e) => setQuery(queryChange("domain", e.target.value))}>
            <option value="">Every domain</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {optionLabel(n, n, counts.domain, !f.domain)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Lifecycle" help="Draft, active, deprecated or retired." errors={violationsFor(err, "lifecycle")}>
        {(id, d, bad) => (
          <select id={id} aria-describedby={d || undefined} aria-invalid={bad || undefined} value={f.lifecycle} onChange={(e) => setQuery(queryChange("lifecycle", e.target.value))}>
            <option value="">Any lifecycle</option>
            {lifecycleOptions.map((l) => (
              <option key={l} value={lifecycleWords[l]}>
                {optionLabel(lifecycleWords[l], lifecycleWords[l], counts.lifecycle, !f.lifecycle)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Health" help="Whether its Kafka topics and connectors match what was approved." errors={violationsFor(err, "health")}>
        {(id, d, bad) => (
          <select id={id} aria-describedby={d || undefined} aria-invalid={bad || undefined} value={f.health} onChange={(e) => setQuery(queryChange("health", e.target.value))}>
            <option value="">Any health</option>
            {healthOptions.map((o) => (
              <option key={o.value} value={o.value}>
                {optionLabel(o.label, o.value, counts.health, !f.health)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Holds fields classified" help="At least one field of this kind, e.g. PII (personal data)." errors={violationsFor(err, "classification")}>
        {(id, d, bad) => (
          <select
            id={id}
            aria-describedby={d || undefined}
            aria-invalid={bad || undefined}
            value={f.classification}
            onChange={(e) => setQuery(queryChange("classification", e.target.value))}
          >
            <option value="">Any classification</option>
            {classOptions.map((o) => (
              <option key={o.value} value={o.value}>
                {optionLabel(o.label, o.value, counts.classification, !f.classification)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <LabelFilter value={f.labels} errors={[...labelProblems, ...violationsFor(err, "labels")]} />
      <Field label="Sort by">
        {(id) => (
          <select id={id} value={f.sort} onChange={(e) => setQuery(queryChange("sort", e.target.value))}>
            {sortOptions.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {isFiltered(f) && (
        <div className="catalog-facet-clear">
          <button type="button" className="button ghost" onClick={() => setQuery(clearAll())}>
            Clear filters
          </button>
        </div>
      )}
    </fieldset>
  );
}

/** LabelFilter applies on Enter or when the field loses focus. */
function LabelFilter({ value, errors }: { value: string; errors: string[] }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const apply = () => {
    if (text.trim() !== value) setQuery(queryChange("labels", text.trim()));
  };
  return (
    <Field label="Labels" help="Only products carrying every label given, written key=value, e.g. tier=gold." errors={errors}>
      {(id, d, bad) => (
        <input
          id={id}
          aria-invalid={bad || undefined}
          value={text}
          aria-describedby={d || undefined}
          placeholder="tier=gold"
          autoComplete="off"
          onChange={(e) => setText(e.target.value)}
          onBlur={apply}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              apply();
            }
          }}
        />
      )}
    </Field>
  );
}

function ResultsTable({ products, busy }: { products: DataProduct[]; busy: boolean }) {
  return (
    <div className="catalog-scroll" role="region" aria-label="Data products" tabIndex={0} aria-busy={busy || undefined}>
      <table className="catalog-table">
        <caption className="catalog-sr-only">Data products, one per row</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Domain</th>
            <th scope="col">Lifecycle</th>
            <th scope="col">Owner</th>
            <th scope="col">Ports</th>
            <th scope="col">Data it holds</th>
            <th scope="col">Health</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {products.map((p) => (
            <ProductRow key={p.id || p.domain + "/" + p.name} p={p} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ProductRow({ p }: { p: DataProduct }) {
  const classes = classificationsOf(p).filter((c) => c === Classification.PII || c === Classification.SENSITIVE || c === Classification.UNSPECIFIED);
  return (
    <tr>
      <th scope="row" className="catalog-product-cell">
        <Link to={productPath(p.domain, p.name)}>{p.name}</Link>
        {p.description && <span className="muted catalog-one-line">{p.description}</span>}
      </th>
      <td>{p.domain}</td>
      <td>
        <LifecycleBadge lifecycle={p.lifecycle} />
      </td>
      <td>{p.owner || <span className="muted">no owner</span>}</td>
      <td>
        {p.ports.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <>
            {p.ports.length}
            <span className="muted">: {p.ports.map((x) => x.name).join(", ")}</span>
          </>
        )}
      </td>
      <td>
        {classes.length === 0 ? (
          <span className="muted">{p.ports.length ? "no personal or sensitive data" : "—"}</span>
        ) : (
          <span className="row catalog-tight">
            {classes.map((c) => (
              <ClassBadge key={c} c={c} />
            ))}
          </span>
        )}
      </td>
      <td>
        <HealthBadge product={p} />
        {pendingChanges(p) && <span className="muted catalog-one-line">changes not provisioned</span>}
      </td>
      <td>
        <When date={dateOf(p.updateTime)} />
      </td>
    </tr>
  );
}

function Pager(props: { page: string; next: string; before: string[]; onNext(): void; onPrevious(): void; onFirst(): void }) {
  const { page, next, before } = props;
  if (!page && !next) return null;
  return (
    <nav className="row catalog-pager" aria-label="Pages of results">
      {before.length > 0 ? (
        <button type="button" className="button" onClick={props.onPrevious}>
          Previous page
        </button>
      ) : (
        page && (
          <button type="button" className="button" onClick={props.onFirst}>
            First page
          </button>
        )
      )}
      {next && (
        <button type="button" className="button" onClick={props.onNext}>
          Next page
        </button>
      )}
    </nav>
  );
}
