// One transport for every call: the session cookie authenticates, and every
// call carries the session's CSRF token, which the server requires for
// anything that can change state.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CatalogService } from "../gen/meshplane/v1/catalog_pb";
import { ProvisioningService } from "../gen/meshplane/v1/provisioning_pb";
import { PolicyService } from "../gen/meshplane/v1/policy_pb";
import { AccessService } from "../gen/meshplane/v1/access_pb";
import { AuditService } from "../gen/meshplane/v1/audit_pb";
import { IdentityService } from "../gen/meshplane/v1/identity_pb";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb";

let csrfToken = "";

/** setCSRFToken records the session's CSRF token (kept in memory only). */
export function setCSRFToken(t: string) {
  csrfToken = t;
}

/** csrfHeaders are the headers a plain fetch of a state-changing endpoint needs. */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

const csrf: Interceptor = (next) => async (req) => {
  if (csrfToken) req.header.set("X-CSRF-Token", csrfToken);
  return next(req);
};

let onUnauthenticated: () => void = () => {};
/** setUnauthenticatedHandler is called when a call finds the session gone. */
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

const signedOut: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    if (e instanceof ConnectError && e.code === Code.Unauthenticated) onUnauthenticated();
    throw e;
  }
};

export const transport = createConnectTransport({
  baseUrl: window.location.origin,
  interceptors: [csrf, signedOut],
  fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
});

export const catalog = createClient(CatalogService, transport);
export const provisioning = createClient(ProvisioningService, transport);
export const policy = createClient(PolicyService, transport);
export const accessApi = createClient(AccessService, transport);
export const audit = createClient(AuditService, transport);
export const identity = createClient(IdentityService, transport);

/** A field-level violation the server reported. */
export interface Violation {
  field: string;
  message: string;
}

/** ApiError is what the portal shows for a failed call. */
export interface ApiError {
  code: string;
  reason: string;
  message: string;
  violations: Violation[];
}

/** describeError turns any thrown value into what the portal shows. */
export function describeError(e: unknown): ApiError {
  if (e instanceof ConnectError) {
    const violations = e
      .findDetails(BadRequestSchema)
      .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, message: v.description })));
    const info = e.findDetails(ErrorInfoSchema)[0];
    return { code: Code[e.code] ?? "Unknown", reason: info?.reason ?? "", message: e.rawMessage, violations };
  }
  return { code: "Unknown", reason: "", message: e instanceof Error ? e.message : String(e), violations: [] };
}

/** violationsFor returns the messages for one field path and its children. */
export function violationsFor(err: ApiError | null | undefined, path: string): string[] {
  if (!err) return [];
  return err.violations
    .filter((v) => v.field === path || v.field.startsWith(path + ".") || v.field.startsWith(path + "["))
    .map((v) => v.message);
}
