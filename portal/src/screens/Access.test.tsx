import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Classification, OutputPortSchema } from "../gen/meshplane/v1/catalog_pb";
import {
  AccessRequestState,
  AccessService,
  GrantState,
  IssueKafkaCredentialResponseSchema,
  type RequestAccessRequest,
} from "../gen/meshplane/v1/access_pb";
import { IdentityService, PrincipalKind } from "../gen/meshplane/v1/identity_pb";
import { ProvisioningService } from "../gen/meshplane/v1/provisioning_pb";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import {
  accessEnvironment,
  daysToSeconds,
  defaultGroupPrefix,
  environmentLabel,
  exactViolations,
  holdsPersonalData,
  kafkaClientProperties,
  parseRequestParam,
  personalFields,
  revocable,
  unpinned,
} from "./access/format";
import { approverLabel, days } from "./governance/describe";
import { accessApi, type ApiError } from "../lib/api";
import { SessionProvider } from "../lib/session";
import { RequestForm } from "./access/RequestForm";
import { Credentials } from "./access/Credentials";

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("the request link from a product page", () => {
  it("prefills domain and product, and the port when given", () => {
    expect(parseRequestParam("sales/orders")).toEqual({ domain: "sales", product: "orders", port: "" });
    expect(parseRequestParam("sales/orders/customers")).toEqual({ domain: "sales", product: "orders", port: "customers" });
  });
  it("ignores what is not a product reference", () => {
    expect(parseRequestParam(null)).toBeNull();
    expect(parseRequestParam("sales")).toBeNull();
    expect(parseRequestParam("/orders")).toBeNull();
    expect(parseRequestParam("a/b/c/d")).toBeNull();
  });
});

describe("request defaults", () => {
  it("turns days into seconds; empty asks for the policy maximum", () => {
    expect(daysToSeconds("")).toBe(0n);
    expect(daysToSeconds("14")).toBe(14n * 86400n);
    expect(daysToSeconds("0.5")).toBe(43200n);
    expect(daysToSeconds("-1")).toBeNull();
    expect(daysToSeconds("soon")).toBeNull();
  });
  it("derives the default consumer group prefix like the server", () => {
    expect(defaultGroupPrefix("marketing", "reporter")).toBe("marketing.reporter.");
    expect(defaultGroupPrefix("", "reporter")).toBe("");
  });
  it("says who must approve in words, and durations in days", () => {
    expect(approverLabel("domain-owner:sales")).toBe("an owner of sales");
    expect(approverLabel("governance-officer")).toBe("a governance officer");
    expect(days(2592000n)).toBe("30 days");
    expect(days(86400)).toBe("1 day");
    expect(days(3600)).toBe("1 hour");
  });
});

describe("personal data", () => {
  const port = (...cls: Classification[]) =>
    create(OutputPortSchema, { name: "p", fields: cls.map((c, i) => ({ name: `f${i}`, classification: c })) });
  it("counts pii, sensitive and unclassified fields as personal data, like the default access policy", () => {
    expect(holdsPersonalData(port(Classification.NONE, Classification.INTERNAL))).toBe(false);
    expect(holdsPersonalData(port(Classification.NONE, Classification.PII))).toBe(true);
    expect(holdsPersonalData(port(Classification.SENSITIVE))).toBe(true);
    expect(holdsPersonalData(port(Classification.UNSPECIFIED))).toBe(true);
    expect(personalFields(port(Classification.PII, Classification.NONE, Classification.PII))).toEqual({ pii: ["f0", "f2"], sensitive: [], unclassified: [] });
  });
});

describe("server errors on the form", () => {
  const e: ApiError = {
    code: "InvalidArgument",
    reason: "",
    message: "invalid request",
    violations: [
      { field: "groupPrefix", message: "must start with marketing.reporter." },
      { field: "ports[0].port", message: 'no port "nope"' },
      { field: "ports[1]", message: "repeats ports[0]" },
      { field: "somethingNew", message: "??" },
    ],
  };
  it("separates a row's own violation from its fields'", () => {
    expect(exactViolations(e, "ports[1]")).toEqual(["repeats ports[0]"]);
    expect(exactViolations(e, "ports[0]")).toEqual([]);
  });
  it("leaves for the banner only what no field shows", () => {
    const rest = unpinned(e, (f) => f === "groupPrefix" || f.startsWith("ports"));
    expect(rest?.violations).toEqual([{ field: "somethingNew", message: "??" }]);
    expect(unpinned({ ...e, violations: e.violations.slice(0, 3) }, (f) => f === "groupPrefix" || f.startsWith("ports"))).toBeNull();
    expect(unpinned({ ...e, violations: [] }, () => true)).not.toBeNull();
  });
});

describe("grants and credentials", () => {
  it("revokes only grants that are or will be live", () => {
    expect([GrantState.PENDING, GrantState.APPROVED, GrantState.PROVISIONING, GrantState.ACTIVE, GrantState.REVOKED].map(revocable)).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
  });
  it("writes Kafka client settings with the password quoted safely", () => {
    const s = kafkaClientProperties({
      bootstrapServers: ["b1:9092", "b2:9092"],
      securityProtocol: "SASL_SSL",
      mechanism: "SCRAM-SHA-512",
      username: "marketing.reporter",
      password: 'p"w\\d',
    });
    expect(s).toContain("bootstrap.servers=b1:9092,b2:9092\n");
    expect(s).toContain("sasl.mechanism=SCRAM-SHA-512\n");
    expect(s).toContain('username="marketing.reporter" password="p\\"w\\\\d";');
  });
});

describe("environments", () => {
  const dev = { name: "dev", default: true, access: false, sandbox: true };
  const prod = { name: "prod", default: false, access: true, sandbox: false };
  it("reads where the server would: the environment marked for access, else the default one", () => {
    expect(accessEnvironment([dev, prod])).toBe("prod");
    expect(accessEnvironment([dev, { ...prod, access: false }])).toBe("dev");
    expect(accessEnvironment([])).toBe("");
  });
  it("names an environment with what sets it apart", () => {
    expect(environmentLabel(prod)).toBe("prod (consumer access)");
    expect(environmentLabel(dev)).toBe("dev (default, sandbox)");
    expect(environmentLabel({ name: "qa", default: false, access: false, sandbox: false })).toBe("qa");
  });
});

const twoEnvironments = {
  environments: [
    { name: "dev", default: true, sandbox: true },
    { name: "prod", access: true, parameters: { protected: true } },
  ],
};

/** renderAccess renders a screen of the Access page, signed in as a user who sees one service account. */
function renderAccess(ui: ReactNode, opts: { environments?: typeof twoEnvironments; access?: (r: ConnectRouter) => void }) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => ({ ok: true, json: async () => ({ principal: { name: "alice", kind: "user", domain: "marketing" }, csrfToken: "t" }) })),
  );
  const transport = createRouterTransport((router) => {
    router.service(IdentityService, {
      listPrincipals: () => ({ principals: [{ name: "reporter", kind: PrincipalKind.SERVICE_ACCOUNT, domain: "marketing" }] }),
    });
    if (opts.environments) {
      const envs = opts.environments;
      router.service(ProvisioningService, { listEnvironments: () => envs });
    }
    opts.access?.(router);
  });
  render(
    <SessionProvider>
      <TransportProvider transport={transport}>
        <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>
      </TransportProvider>
    </SessionProvider>,
  );
}

/** fileRequest fills the request form for sales/orders/customers and files it, returning what the server got. */
async function fileRequest(environments?: typeof twoEnvironments, choose?: string) {
  const got: RequestAccessRequest[] = [];
  renderAccess(<RequestForm initial={{ domain: "sales", product: "orders", port: "customers" }} onShowMine={() => {}} />, {
    environments,
    access: (router) =>
      router.service(AccessService, {
        requestAccess: (req) => {
          got.push(req);
          return {
            accessRequest: {
              id: "r1",
              consumer: req.consumer,
              environment: req.environment || "prod",
              state: AccessRequestState.PENDING,
              awaiting: ["domain-owner:sales"],
              durationSeconds: 2592000n,
            },
          };
        },
      }),
  });
  const sa = (await screen.findByRole("option", { name: /^reporter/ })) as HTMLOptionElement;
  await waitFor(() => expect(sa.selected).toBe(true));
  if (environments) {
    const env = (await screen.findByLabelText("Environment")) as HTMLSelectElement;
    expect(env.value).toBe("prod");
    if (choose) fireEvent.change(env, { target: { value: choose } });
  }
  fireEvent.change(screen.getByLabelText("Purpose"), { target: { value: "weekly churn report" } });
  fireEvent.click(screen.getByRole("button", { name: "Request access" }));
  await screen.findByText("Request filed for reporter.");
  return got;
}

describe("requesting access in an environment", () => {
  it("defaults to the environment marked for access, sends the one chosen and names it once filed", async () => {
    const got = await fileRequest(twoEnvironments, "dev");
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ consumer: "reporter", environment: "dev", ports: [{ domain: "sales", product: "orders", port: "customers" }] });
    expect(screen.getByText(/It asks for access in dev\./)).toBeTruthy();
  });

  it("sends the environment marked for access when left alone", async () => {
    const got = await fileRequest(twoEnvironments);
    expect(got[0].environment).toBe("prod");
  });

  it("asks nothing and names no environment when the server lists none to choose from", async () => {
    const got = await fileRequest();
    expect(screen.queryByLabelText("Environment")).toBeNull();
    expect(got[0].environment).toBe("");
  });

  it("shows the server's complaint about the environment next to the field, not in the banner too", async () => {
    renderAccess(<RequestForm initial={{ domain: "sales", product: "orders", port: "customers" }} onShowMine={() => {}} />, {
      environments: twoEnvironments,
      access: (router) =>
        router.service(AccessService, {
          requestAccess: () => {
            throw invalid("environment", "no environment \"qa\"");
          },
        }),
    });
    await screen.findByLabelText("Environment");
    fireEvent.click(screen.getByRole("button", { name: "Request access" }));
    expect((await screen.findAllByText('no environment "qa"')).length).toBe(1);
    expect(screen.getByText(/see the messages next to the fields above/)).toBeTruthy();
  });
});

describe("Kafka credentials in an environment", () => {
  const issued = (environment: string, principal: string) =>
    create(IssueKafkaCredentialResponseSchema, {
      credential: { principal, environment, username: principal, mechanism: "SCRAM-SHA-512", kafkaPrincipal: `User:${principal}` },
      password: "s3cret",
      bootstrapServers: [`kafka.${environment}:9092`],
      securityProtocol: "SASL_SSL",
    });

  it("issues in the environment chosen and says which cluster the password is for", async () => {
    const issue = vi.spyOn(accessApi, "issueKafkaCredential").mockImplementation(async (req) => issued(req.environment ?? "", req.principal ?? ""));
    renderAccess(<Credentials />, { environments: twoEnvironments });
    const env = (await screen.findByLabelText("Environment")) as HTMLSelectElement;
    expect(env.value).toBe("prod");
    fireEvent.change(env, { target: { value: "dev" } });
    const button = screen.getByRole("button", { name: "Issue credential" }) as HTMLButtonElement;
    await waitFor(() => expect(button.disabled).toBe(false));
    fireEvent.click(button);
    await screen.findByText("Kafka credential for reporter in dev");
    expect(issue).toHaveBeenCalledWith({ principal: "reporter", environment: "dev" });
  });

  it("lets the server pick when there is a single environment", async () => {
    const issue = vi.spyOn(accessApi, "issueKafkaCredential").mockImplementation(async (req) => issued("", req.principal ?? ""));
    renderAccess(<Credentials />, { environments: { environments: [twoEnvironments.environments[0]] } });
    const button = screen.getByRole("button", { name: "Issue credential" }) as HTMLButtonElement;
    await waitFor(() => expect(button.disabled).toBe(false));
    expect(screen.queryByLabelText("Environment")).toBeNull();
    fireEvent.click(button);
    await screen.findByText("Kafka credential for reporter");
    expect(issue).toHaveBeenCalledWith({ principal: "reporter", environment: "" });
  });
});

function invalid(field: string, description: string) {
  return new ConnectError("invalid request", Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } },
  ]);
}
