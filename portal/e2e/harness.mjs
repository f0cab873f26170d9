// The end-to-end harness: the real server binary (with the portal embedded
// and the in-process sandbox data plane) and Debian's chromium driven by
// playwright-core. Nothing is mocked: plans and applies run real terraform.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const repo = resolve(here, "../..");
export const artifacts = resolve(process.env.MESHPLANE_E2E_ARTIFACTS ?? join(here, "artifacts"));
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Server is a running meshplane with its admin token and API helper. */
export class Server {
  static async start() {
    const bin = resolve(process.env.MESHPLANE_BIN ?? join(repo, "bin/meshplane"));
    if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: run scripts/e2e.sh (or go build -tags portal -o bin/meshplane ./cmd/meshplane)`);
    const s = new Server();
    s.dataDir = mkdtempSync(join(tmpdir(), "meshplane-e2e-"));
    s.port = await freePort();
    s.url = `http://127.0.0.1:${s.port}`;
    const args = ["serve", "--addr", `127.0.0.1:${s.port}`, "--data-dir", s.dataDir, "--tools-dir", resolve(process.env.MESHPLANE_TOOLS_DIR ?? join(repo, ".tools")),
      "--grant-interval", "1s", "--drift-interval", "0"];
    if (process.env.MESHPLANE_TERRAFORM) args.push("--terraform", process.env.MESHPLANE_TERRAFORM);
    mkdirSync(artifacts, { recursive: true });
    const log = join(artifacts, "server.log");
    writeFileSync(log, "");
    s.proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, HOME: process.env.HOME ?? "/tmp" } });
    s.logText = "";
    for (const stream of [s.proc.stdout, s.proc.stderr]) stream.on("data", (d) => { s.logText += d; writeFileSync(log, s.logText); });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (s.proc.exitCode !== null) throw new Error("server exited:\n" + s.logText);
      try {
        if ((await fetch(s.url + "/readyz")).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    s.adminToken = readFileSync(join(s.dataDir, "admin.token"), "utf8").trim();
    return s;
  }

  /** api calls a Connect procedure (e.g. "CatalogService/CreateDomain") with a bearer token. */
  async api(token, proc, body = {}) {
    const r = await fetch(`${this.url}/meshplane.v1.${proc}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const out = await r.json();
    if (!r.ok) throw new Error(`${proc}: ${r.status} ${JSON.stringify(out)}`);
    return out;
  }

  /** user creates a principal with a role in a domain and returns a token for it. */
  async user(name, role, domain, kind = "PRINCIPAL_KIND_USER") {
    await this.api(this.adminToken, "IdentityService/CreatePrincipal", { name, kind, ...(kind === "PRINCIPAL_KIND_SERVICE_ACCOUNT" ? { domain } : {}) });
    if (role) await this.api(this.adminToken, "IdentityService/CreateRoleBinding", { principal: name, role, domain });
    return (await this.api(this.adminToken, "IdentityService/CreateToken", { principal: name, description: "e2e" })).secret;
  }

  /** produce writes JSON records (key, value) to a topic of the sandbox with kcat. */
  async produce(topic, records) {
    const r = await fetch(this.url + "/api/sandbox", { headers: { Authorization: `Bearer ${this.adminToken}` } });
    const sb = await r.json();
    const input = records.map(([k, v]) => `${k}\t${v}`).join("\n") + "\n";
    execFileSync("kcat", ["-F", sb.credentials_file, "-b", sb.bootstrap_servers.join(","), "-t", topic, "-P", "-K", "\t"], { input });
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Browser is Debian's chromium, headless, never a downloaded one. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/**
 * signIn opens a new browser context, signs in through the sign-in page with
 * token, and returns the page. Console errors and CSP violations are kept.
 */
export const openPages = [];

/** settle screenshots every page a test left open (what it saw when it failed) and closes them. */
export async function settle(name) {
  let i = 0;
  for (const page of openPages.splice(0)) {
    if (page.isClosed()) continue;
    await page.screenshot({ path: join(artifacts, `zz-${name}-${i++}.png`), fullPage: true }).catch(() => {});
    await page.context().close().catch(() => {});
  }
}

export async function signIn(browser, server, token) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  openPages.push(page);
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) page.problems.push(m.text());
  });
  page.on("pageerror", (e) => page.problems.push(String(e)));
  await page.goto(server.url + "/");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  return page;
}

/**
 * check saves a screenshot of a key screen and runs axe-core on it: any
 * serious or critical violation fails the test.
 */
export async function check(page, name) {
  // Screens show a "…" status while they wait for the server.
  await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => e.textContent?.endsWith("…")), null, { timeout: 20_000 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const hasAxe = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!hasAxe) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  writeFileSync(join(artifacts, `${name}.axe.json`), JSON.stringify(result, null, 2));
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) throw new Error(`${name}: accessibility violations:\n` + JSON.stringify(bad, null, 2));
  const csp = page.problems.filter((p) => /Content Security Policy/i.test(p));
  if (csp.length) throw new Error(`${name}: CSP violations:\n` + csp.join("\n"));
}
