// Portal budgets, measured on this machine (scripts/portal-bench.sh):
// the initial JavaScript the browser downloads (gzipped), and how long the
// catalog takes to show its first page over 10,000 products in headless
// chromium, from navigation to the first product row, with and without a
// text filter. Prints figures; asserts nothing.
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { Server, launch, signIn } from "./harness.mjs";

const dist = new URL("../dist/", import.meta.url).pathname;
const products = Number(process.env.PRODUCTS ?? 10000);
const rounds = Number(process.env.ROUNDS ?? 15);

// Initial JS: the scripts index.html loads (module entry and its preloads).
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (f) => gzipSync(readFileSync(join(dist, f))).length;
const initialGz = initial.reduce((n, f) => n + gz(f), 0);
const allJs = readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js"));
console.log(`initial JS: ${(initialGz / 1024).toFixed(1)} KB gzipped (${initial.join(", ")}); all JS ${(allJs.reduce((n, f) => n + gz("assets/" + f), 0) / 1024).toFixed(1)} KB gzipped; budget 250 KB`);

const server = await Server.start();
try {
  const admin = server.adminToken;
  for (const d of ["sales", "hr", "finance", "marketing"]) await server.api(admin, "CatalogService/CreateDomain", { name: d });
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < products) {
      const i = next++;
      const domain = ["sales", "hr", "finance", "marketing"][i % 4];
      await server.api(admin, "CatalogService/CreateDataProduct", {
        domain,
        name: `product-${String(i).padStart(5, "0")}`,
        spec: {
          description: `Product ${i} of the ${domain} domain`,
          owner: "team@example.com",
          source: { kind: "SOURCE_KIND_POSTGRES", host: "db.internal", port: 5432, database: "shop", tables: ["public.t"], username: "debezium", secretRef: `env:${domain.toUpperCase()}__DB_PASSWORD` },
          ports: [{
            name: "events", description: "Changes.", table: "public.t", cleanupPolicy: "CLEANUP_POLICY_DELETE",
            majorVersion: 1, partitions: 3, retentionMs: String(7 * 24 * 3600 * 1000),
            fields: [
              { name: "id", type: "FIELD_TYPE_INT64", classification: "CLASSIFICATION_NONE", key: true },
              { name: i % 10 === 0 ? "email" : "amount", type: "FIELD_TYPE_STRING", nullable: true, classification: i % 10 === 0 ? "CLASSIFICATION_PII" : "CLASSIFICATION_NONE" },
            ],
          }],
        },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  console.log(`seeded ${products} products in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  const browser = await launch();
  const page = await signIn(browser, server, admin);
  const measure = async (label, path) => {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      await page.goto("about:blank");
      const start = Date.now();
      await page.goto(server.url + path);
      await page.locator("table tbody tr").first().waitFor({ timeout: 10_000 });
      times.push(Date.now() - start);
    }
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    console.log(`${label}: first page rendered p50 ${q(0.5)} ms, max ${times[times.length - 1]} ms over ${rounds} loads (budget 1000 ms)`);
  };
  await measure("catalog, 10,000 products", "/");
  await measure("catalog, text filter", "/?q=product-0999");
  await measure("catalog, field search", "/?q=email");
  await browser.close();
} finally {
  await server.stop();
}
