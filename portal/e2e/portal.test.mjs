// End-to-end: people use the portal in a real browser against the real server.
// Run with scripts/e2e.sh (builds the binary, installs chromium), or
// `node --test e2e/` with MESHPLANE_BIN set. Screenshots and axe reports of
// every key screen go to e2e/artifacts/.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Server, launch, signIn, check, settle } from "./harness.mjs";

let server, browser;
const tokens = {};

before(async () => {
  server = await Server.start();
  browser = await launch();
  await server.api(server.adminToken, "CatalogService/CreateDomain", { name: "sales", description: "Orders, customers and invoices" });
  await server.api(server.adminToken, "CatalogService/CreateDomain", { name: "marketing", description: "Campaigns and reporting" });
  tokens.owner = await server.user("olivia", "domain-owner", "sales");
  tokens.officer = await server.user("gina", "governance-officer", "*");
  tokens.viewer = await server.user("vera", "viewer", "sales");
  tokens.marketer = await server.user("mark", "domain-owner", "marketing");
});

let n = 0;
afterEach(async () => {
  await settle(`test${++n}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("signing in with a pasted token keeps no token in the browser, and signing out ends the session", async () => {
  const page = await signIn(browser, server, tokens.viewer);
  await check(page, "01-catalog-empty");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(tokens.viewer), "the token must not be stored where scripts can read it");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "meshplane_session");
  assert.ok(session?.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API token").waitFor();
  const r = await page.request.post(server.url + "/meshplane.v1.IdentityService/WhoAmI", { data: {}, headers: { Cookie: `meshplane_session=${session.value}` } });
  assert.equal(r.status(), 401, "a signed-out session is revoked");
  await page.context().close();
});

test("a domain team registers a product through the wizard, reviews its plan, approves it and watches it apply", async () => {
  const page = await signIn(browser, server, tokens.owner);
  await page.locator("main").getByRole("link", { name: "Register a product" }).click();
  await page.getByRole("heading", { name: "Register a product", level: 1 }).waitFor();
  // Basics.
  await page.getByLabel("Domain", { exact: true }).selectOption("sales");
  await page.getByLabel("Product name").fill("orders");
  await page.getByLabel("Description").fill("Customers of the web shop, as they change.");
  await page.getByLabel("Owner").fill("orders-team@example.com");
  await check(page, "10-wizard-basics");
  await page.getByRole("button", { name: "Next: Source" }).click();
  await page.getByLabel("Host").fill("shop-db.internal");
  await page.getByLabel("Port", { exact: true }).fill("5432");
  await page.getByLabel("Database", { exact: true }).fill("shop");
  await page.getByLabel("Username").fill("debezium");
  // A password where a reference belongs is pinned to its field by the server's dry run.
  await page.getByLabel("Password reference").fill("hunter2");
  await page.locator(".field.invalid, [aria-invalid=true]").first().waitFor();
  await check(page, "11-wizard-source-error");
  await page.getByLabel("Password reference").fill("env:SALES__SHOP_DB_PASSWORD");
  await page.getByRole("button", { name: "Next: Tables" }).click();
  await page.getByLabel("Table 1").fill("public.customers");
  await page.getByRole("button", { name: "Next: Ports & fields" }).click();
  await page.getByRole("button", { name: "Create a port for each table" }).click();
  await page.getByLabel("Port description").fill("Customer master data: one record per customer change.");
  await page.getByLabel("Field 1 name").fill("customer_id");
  await page.getByLabel("Field 1 type").selectOption("int64");
  await page.getByLabel("Field 1 classification").selectOption("none");
  await page.getByLabel("Field 1 is part of the record key").check();
  await page.getByLabel("Field 1 name").press("Enter");
  await page.getByLabel("Field 2 name").fill("email");
  await page.getByLabel("Field 2 type").selectOption("string");
  await page.getByLabel("Field 2 tags, separated by commas").fill("contact");
  // Classify in bulk: select the email row, pick PII, apply.
  await page.getByLabel(/^Select field 2/).check();
  await page.getByLabel("Classification for selected").selectOption("pii");
  await page.getByRole("button", { name: "Apply to selected" }).click();
  assert.equal(await page.getByLabel("Field 2 classification").inputValue(), "pii");
  await check(page, "12-wizard-fields");
  // A draft survives a reload.
  await page.reload();
  await page.getByLabel("Field 2 name").waitFor();
  assert.equal(await page.getByLabel("Field 2 name").inputValue(), "email");
  await page.getByRole("button", { name: "Next: Sinks" }).click();
  await page.getByRole("button", { name: "Next: Review" }).click();
  await page.getByText("The server accepts the product as it stands.").waitFor({ timeout: 15_000 });
  await check(page, "13-wizard-review");
  await page.getByRole("button", { name: "Save and plan" }).click();

  // The plan, reviewed and approved as exactly this plan.
  await page.getByRole("heading", { name: "Plan for sales/orders" }).waitFor();
  const approve = page.getByRole("button", { name: "Approve and apply" });
  await approve.waitFor({ timeout: 120_000 });
  await page.getByRole("heading", { name: "Planned changes" }).waitFor();
  await page.getByRole("heading", { name: /^Topics/ }).waitFor();
  await page.getByText(/Reads the secret env:SALES__SHOP_DB_PASSWORD/).waitFor();
  await check(page, "14-plan-review");
  await approve.click();
  await page.getByText("Applied.", { exact: true }).first().waitFor({ timeout: 120_000 });
  await check(page, "15-run-applied");
  const log = await page.getByRole("log", { name: "Terraform log" }).innerText();
  assert.match(log, /Apply complete/, "the live log showed terraform's apply");

  // The product page shows it provisioned; the owner publishes it to the catalog.
  await page.getByRole("link", { name: "Open sales/orders" }).click();
  await page.getByRole("heading", { name: "sales/orders", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Publish as active" }).click();
  await page.getByText("active", { exact: true }).first().waitFor();
  await check(page, "16-product-overview");
  await page.getByRole("tab", { name: "Ports & schema" }).click();
  await page.getByText("key — stays unmasked").first().waitFor();
  await check(page, "17-product-ports");
  const topics = await server.api(tokens.owner, "CatalogService/GetDataProduct", { domain: "sales", name: "orders" });
  assert.equal(topics.dataProduct.lifecycle, "LIFECYCLE_ACTIVE");
  assert.equal(String(topics.dataProduct.provisionedVersion), String(topics.dataProduct.version), "publishing changed nothing to provision");
  assert.equal(await page.getByText("changes not provisioned").count(), 0);

  // The catalog finds the product by a field name.
  await page.getByRole("link", { name: "Catalog" }).click();
  await page.getByLabel("Search products").fill("email");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "orders" }).first().waitFor();
  await check(page, "18-catalog-search");
  await page.context().close();
});

test("a viewer's masked preview shows pseudonyms, never the raw personal data", async () => {
  await server.produce("sales.orders.customers.v1", [
    ['{"customer_id":1}', '{"customer_id":1,"email":"alice@example.com"}'],
    ['{"customer_id":2}', '{"customer_id":2,"email":"bob@example.com"}'],
  ]);
  const page = await signIn(browser, server, tokens.viewer);
  await page.goto(server.url + "/products/sales/orders/preview");
  await page.getByRole("heading", { name: "What you see of each field" }).first().waitFor();
  await page.getByText(/hmac-sha256:/).first().waitFor();
  await check(page, "40-viewer-preview");
  const text = await page.locator("main").innerText();
  assert.ok(!text.includes("alice@example.com") && !text.includes("bob@example.com"), "a viewer never sees a raw email");
  await page.context().close();
});

test("an officer drafts a stricter masking policy, sees its impact and publishes it", async () => {
  const page = await signIn(browser, server, tokens.officer);
  await page.getByRole("link", { name: "Policies" }).click();
  await check(page, "20-policies");
  await page.goto(server.url + "/governance/policies/masking");
  await page.getByRole("tab", { name: "Edit draft" }).click();
  const editor = page.getByRole("textbox", { name: "Contents of masking.rego" });
  const before = await editor.inputValue();
  const anchor = '} else := {"action": "allow", "reason": "raw pii approved for this port by policy"} if {';
  assert.ok(before.includes(anchor), "the masking policy has its raw-pii branch");
  // First a draft that does not compile: the error is pinned to its line.
  await editor.fill(before.replace(anchor, "} else := {\n" + anchor));
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText(/The draft does not compile/).waitFor();
  await check(page, "21-policy-compile-error");
  // Then the stricter rule: contact data is dropped instead of hashed.
  const stricter = before.replace(
    anchor,
    '} else := {"action": "drop", "reason": "contact data is never published"} if {\n\tfield.classification == "pii"\n\t"contact" in field.tags\n' + anchor,
  );
  await editor.fill(stricter);
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText(/Draft saved as version/).waitFor();
  await page.getByRole("tab", { name: "Test" }).click();
  await page.getByRole("button", { name: "Run tests" }).click();
  await page.getByText(/Tests passed/).waitFor();
  await check(page, "22-policy-tests");
  await page.getByRole("tab", { name: "Impact" }).click();
  await page.getByRole("button", { name: "Check impact" }).click();
  await page.getByRole("heading", { name: "Masking: fields whose treatment changes" }).waitFor();
  const impact = page.getByRole("tabpanel");
  await impact.getByText("email").first().waitFor();
  await impact.getByText("more protected").first().waitFor();
  await check(page, "23-policy-impact");
  await page.getByRole("tab", { name: "Publish" }).click();
  await page.getByRole("textbox", { name: "Publish message" }).fill("drop contact data instead of hashing it");
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await page.getByText(/Published version \d+/).waitFor();
  await check(page, "24-policy-published");
  const mod = await server.api(tokens.officer, "PolicyService/GetPolicyModule", { name: "masking" });
  assert.ok(JSON.stringify(mod).includes("contact data is never published"), "the published module holds the new rule");
  await page.context().close();
});

test("a consumer team requests access from the product and an owner approves it in the inbox", async () => {
  await server.api(tokens.marketer, "IdentityService/CreatePrincipal", { name: "reporter", kind: "PRINCIPAL_KIND_SERVICE_ACCOUNT", domain: "marketing" });
  const consumer = await signIn(browser, server, tokens.marketer);
  await consumer.goto(server.url + "/access?request=sales/orders");
  await consumer.getByRole("heading", { name: "Access", level: 1 }).waitFor();
  // The field is a text box until the service accounts have loaded, then a
  // list to choose from: wait for the list.
  await consumer.getByRole("combobox", { name: "Consumer service account" }).selectOption("reporter");
  const port = consumer.getByRole("group", { name: "Port 1" });
  await port.getByLabel("Domain").fill("sales");
  await port.getByLabel("Data product").fill("orders");
  await port.getByLabel("Output port").fill("customers");
  await consumer.getByRole("textbox", { name: "Purpose" }).fill("weekly churn report");
  await check(consumer, "30-access-request");
  await consumer.getByRole("button", { name: "Request access" }).click();
  await consumer.getByText("Request filed for reporter.").waitFor();
  await consumer.getByRole("tab", { name: "My requests" }).click();
  await consumer.getByRole("article", { name: "reporter → sales/orders/customers" }).waitFor();
  await check(consumer, "31-my-requests");

  const owner = await signIn(browser, server, tokens.owner);
  await owner.goto(server.url + "/access?tab=inbox");
  const card = owner.getByRole("article", { name: "reporter → sales/orders/customers" });
  await card.waitFor();
  await check(owner, "32-approver-inbox");
  await card.getByRole("textbox", { name: "Approval note (optional)" }).fill("ok for the churn report");
  await card.getByRole("button", { name: "Approve" }).click();
  await owner.getByText(/You approved the request of reporter/).waitFor();
  await check(owner, "33-approved");

  const grants = await server.api(tokens.owner, "AccessService/ListGrants", { domain: "sales", product: "orders" });
  assert.ok((grants.grants ?? []).some((g) => g.consumer === "reporter"), "approval created a grant for reporter: " + JSON.stringify(grants));
  await consumer.context().close();
  await owner.context().close();
});
