// The Access page: consumers request access to data products' ports,
// follow their requests, approvers work their inbox, owners and officers
// review and revoke grants, and service accounts get Kafka credentials.
import { useQuery } from "@connectrpc/connect-query";
import { AccessService } from "../gen/meshplane/v1/access_pb";
import { setQuery, useLocation } from "../lib/router";
import { Page, TabPanel, Tabs } from "../lib/ui";
import { parseRequestParam } from "./access/format";
import { RequestForm } from "./access/RequestForm";
import { Inbox, MyRequests } from "./access/Requests";
import { Grants } from "./access/Grants";
import { Credentials } from "./access/Credentials";

const TAB_IDS = ["request", "mine", "inbox", "grants", "credentials"] as const;

export function AccessPage() {
  const { query } = useLocation();
  const initial = parseRequestParam(query.get("request"));
  const asked = query.get("tab");
  const tab = (TAB_IDS as readonly string[]).includes(asked ?? "") ? asked! : "request";
  const inbox = useQuery(AccessService.method.listAccessRequests, { awaitingMe: true, pageSize: 100 });
  const waiting = inbox.data?.accessRequests.length;
  const tabs = [
    { id: "request", label: "Request access" },
    { id: "mine", label: "My requests" },
    { id: "inbox", label: "Awaiting my approval", count: waiting },
    { id: "grants", label: "Grants" },
    { id: "credentials", label: "Kafka credentials" },
  ];
  const select = (id: string) => setQuery({ tab: id === "request" ? undefined : id, request: id === "request" ? query.get("request") ?? undefined : undefined });
  return (
    <Page
      title="Access"
      description="Ask to read other teams' data products, approve what others ask of yours, and see who reads what until when."
    >
      <Tabs label="Access" tabs={tabs} selected={tab} onSelect={select} />
      <TabPanel id={tab}>
        {tab === "request" && (
          <RequestForm key={query.get("request") ?? ""} initial={initial} onShowMine={() => select("mine")} />
        )}
        {tab === "mine" && <MyRequests />}
        {tab === "inbox" && <Inbox />}
        {tab === "grants" && <Grants />}
        {tab === "credentials" && <Credentials />}
      </TabPanel>
    </Page>
  );
}
