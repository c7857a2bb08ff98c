// Operations: the tenant's sync health (GET sync-health) and one agent's sync status (GET sync-status).
import { ApiError, call, tenantPath } from "./api.js";
import { formatTime, h, replace } from "./dom.js";

const number = new Intl.NumberFormat("en-US");

// sync-health counts agents per problem code; the per-agent sync-status carries each problem's own sentence.
export const PROBLEMS = {
  notSubscribed: "No live presence subscription includes the agent: Teams does not tell the connector his presence.",
  syncAccountNeedsSignIn: "The sync account whose subscription covers the agent must sign in again.",
  manualTeamsStatus: "The agent picked a Teams status by hand; it beats the connector's presence until he resets it.",
  contactCenterRefused: "The contact center refused the last command for good.",
  unknownIdleCode: "The contact center refused the idle code the mapping names: fix the presence mapping.",
  teamsRefused: "Microsoft Graph refused the last Teams presence change.",
  loggedOut: "The agent is logged out of the contact center: Teams is not mirrored.",
  noTeamsPresence: "No Teams presence of the agent was seen yet.",
  connectorNotActive: "The connector is not active: nothing is synced.",
  presenceSyncOff: "Presence sync is off: nothing is synced.",
  noContactCenter: "No contact center is configured: nothing is synced.",
};

const AUTHORIZATION = {
  authorized: "Authorized",
  refused: "Refused (401/403): connect or check its credentials again",
  unreachable: "Unreachable",
  unknown: "Not checked yet",
};

function facts(label, pairs) {
  return h("dl", { class: "facts", "aria-label": label }, pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function seconds(value) {
  return value === null || value === undefined ? "no sample" : `${number.format(value)} s`;
}

function byReason(counts) {
  const entries = Object.entries(counts || {}).filter(([, count]) => count > 0);
  return entries.length ? entries.map(([reason, count]) => `${number.format(count)} ${reason}`).join(", ") : "none";
}

export async function renderOperations(ctx) {
  const body = document.getElementById("operations-body");
  let health;
  try {
    health = (await call("GET", tenantPath(ctx.tenantId, "/sync-health"))).data;
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "connectorNotFound")) throw error;
    replace(body, h("p", { id: "health-none" }, "No connector is set up for this tenant yet: set it up on the Connector page."));
    return;
  }
  const agents = health.agents;
  const problems = Object.entries(agents.withProblem || {}).filter(([, count]) => count > 0);
  const hour = health.lastHour;
  const delay = hour.syncDelaySeconds;
  const refresh = h(
    "button",
    { type: "button", class: "secondary", onclick: () => renderOperations(ctx).catch((e) => ctx.fail(e)) },
    "Refresh",
  );
  replace(
    body,
    h("p", { class: "help" }, `As of ${formatTime(health.at)}. `, refresh),
    h(
      "section",
      { class: "card", "aria-labelledby": "health-agents-title" },
      h("h2", { id: "health-agents-title" }, "Agents"),
      h(
        "p",
        { id: "health-in-sync", class: "capacity" },
        `${number.format(agents.inSync)} of ${number.format(agents.total)} ${agents.total === 1 ? "agent" : "agents"} in sync`,
      ),
      problems.length
        ? h(
            "table",
            { id: "health-problems", "aria-labelledby": "health-agents-title" },
            h("thead", {}, h("tr", {}, ["Problem", "Agents", "What it means"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              problems.map(([code, count]) =>
                h("tr", { dataset: { problem: code } }, h("td", {}, code), h("td", {}, number.format(count)), h("td", {}, PROBLEMS[code] || "")),
              ),
            ),
          )
        : h("p", { id: "health-problems" }, "No agent has a problem."),
      h("p", { class: "help" }, "The Agents page shows each agent's problems (Sync details)."),
    ),
    h(
      "div",
      { class: "two" },
      h(
        "section",
        { class: "card", "aria-labelledby": "health-subscriptions-title" },
        h("h2", { id: "health-subscriptions-title" }, "Subscriptions and sync accounts"),
        facts("Subscriptions and sync accounts", [
          ["Subscriptions active", number.format(health.subscriptions.active)],
          ["Expiring within 15 minutes", number.format(health.subscriptions.expiringWithin15Minutes)],
          ["Failed", number.format(health.subscriptions.failed)],
          ["Pending", number.format(health.subscriptions.pending)],
          ["Sync accounts signed in", number.format(health.syncAccounts.healthy)],
          ["Sync accounts needing sign-in", number.format(health.syncAccounts.needingSignIn)],
          ["Contact center", AUTHORIZATION[health.contactCenter.authorization] || health.contactCenter.authorization],
        ]),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "health-hour-title" },
        h("h2", { id: "health-hour-title" }, "Last hour"),
        facts("Last hour", [
          ["Changes applied", number.format(hour.changes.applied)],
          ["Superseded", number.format(hour.changes.superseded)],
          ["Dropped", byReason(hour.changes.dropped)],
          ["Notifications dropped", byReason(hour.notificationsDropped)],
          ["Dead-lettered", number.format(hour.deadLettered)],
          ["Graph throttled (429)", number.format(hour.graphThrottled)],
          ["Contact-center refusals", number.format(hour.contactCenterRefused)],
          ["Sync delay p50 / p99", `${seconds(delay.p50)} / ${seconds(delay.p99)} (${number.format(delay.samples)} samples)`],
          ["Teams -> contact center", `${seconds(delay.teamsToContactCenter.p50)} / ${seconds(delay.teamsToContactCenter.p99)}`],
          ["Contact center -> Teams", `${seconds(delay.contactCenterToTeams.p50)} / ${seconds(delay.contactCenterToTeams.p99)}`],
        ]),
        h("p", { class: "help" }, "Delays are histogram bucket upper bounds: never optimistic."),
      ),
    ),
  );
}

function side(label, text) {
  return [h("dt", {}, label), h("dd", {}, text)];
}

/** One agent's GET sync-status, as a definition list and the problems with their sentences. */
export async function agentSyncDetails(ctx, agentId) {
  const status = (await call("GET", tenantPath(ctx.tenantId, `/agents/${encodeURIComponent(agentId)}/sync-status`))).data;
  const teams = status.teams;
  const cc = status.contactCenter;
  const command = status.lastCommand;
  const subscription = status.subscription;
  const delay = status.lastDelay || {};
  const delayText = (d) => (d ? `${number.format(d.seconds)} s at ${formatTime(d.at)}` : "not measured yet");
  return h(
    "div",
    { class: "sync-details" },
    h("p", { class: status.inSync ? "ok" : "field-error" }, status.inSync ? "In sync." : "Not in sync."),
    status.problems.length
      ? h(
          "ul",
          { class: "problems", "aria-label": `Problems of agent ${agentId}` },
          status.problems.map((problem) => h("li", { dataset: { problem: problem.code } }, h("strong", {}, problem.code), ": ", problem.message)),
        )
      : null,
    h(
      "dl",
      { class: "facts" },
      side(
        "Teams",
        teams
          ? `${teams.availability} (${teams.activity})${teams.manualOverride ? ", set by hand" : ""}${teams.fromConnector ? ", the connector's" : ""} at ${formatTime(teams.observedAt)}`
          : "not seen yet",
      ),
      side("Contact center", cc ? `${cc.state}${cc.idleCodeName ? ` (${cc.idleCodeName})` : ""} at ${formatTime(cc.observedAt)}` : "not seen yet"),
      side(
        "Last command",
        command
          ? `${command.kind}${command.detail ? ` ${command.detail}` : ""} to ${command.target}: ${command.outcome}${command.status ? ` (${command.status}${command.error ? `: ${command.error}` : ""})` : ""} at ${formatTime(command.at)}`
          : "none yet",
      ),
      side("Delay Teams -> contact center", delayText(delay.teamsToContactCenter)),
      side("Delay contact center -> Teams", delayText(delay.contactCenterToTeams)),
      side(
        "Subscription",
        subscription ? `${subscription.status}${subscription.expiresAt ? `, expires ${formatTime(subscription.expiresAt)}` : ""}` : "none",
      ),
    ),
  );
}
