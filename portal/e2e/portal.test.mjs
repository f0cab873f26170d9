// End-to-end: people use the portal in a real browser against the real server.
// Run with scripts/e2e.sh (builds the binary, installs chromium), or
// `node --test e2e/` with MESHPLANE_BIN set. Screenshots and axe reports of
// every key screen go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Server, launch, signIn, check } from "./harness.mjs";

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
