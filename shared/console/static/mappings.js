// Presence mappings as two tables: Teams presence -> idle code, agent state -> Teams presence.
import { ApiError, call, tenantPath } from "./api.js";
import { h, replace } from "./dom.js";

const AVAILABILITIES = ["Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb", "Offline", "PresenceUnknown"];
const ACTIVITIES = ["*", "Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "InACall", "InAConferenceCall", "Inactive", "InAMeeting", "Offline", "OffWork", "OutOfOffice", "PresenceUnknown", "Presenting", "UrgentInterruptionsOnly"];
const AGENT_STATES = { idle: "Idle", ringing: "Ringing", onCall: "On a call", wrapUp: "Wrap-up" };
// What Graph's setPresence accepts for an application session.
const TEAMS_PRESENCES = [["Available", "Available"], ["Busy", "InACall"], ["Busy", "InAConferenceCall"], ["Away", "Away"], ["DoNotDisturb", "Presenting"]];
const ROW_ERROR = /^(teamsToContactCenter|contactCenterToTeams)\[(\d+)\]/;

function select(options, value, label) {
  const element = h("select", { "aria-label": label }, options.map(([v, text]) => h("option", { value: v }, text)));
  element.value = value;
  return element;
}

async function idleCodes(ctx) {
  // The contact center's idle codes, where the connector can list them; otherwise the admin types them.
  try {
    const reply = await call("GET", tenantPath(ctx.tenantId, "/contact-center/idle-codes"));
    return Array.isArray(reply.data && reply.data.value) ? reply.data.value : [];
  } catch {
    return [];
  }
}

export async function renderMappings(ctx) {
  const body = document.getElementById("mappings-body");
  const [reply, codes] = await Promise.all([call("GET", tenantPath(ctx.tenantId, "/presence-mappings")), idleCodes(ctx)]);
  const mappings = reply.data;
  const etag = reply.etag;
  const codeList = h("datalist", { id: "idle-code-list" }, codes.map((code) => h("option", { value: code.id }, code.name || code.id)));
  const teamsRows = h("tbody");
  const agentRows = h("tbody");

  const teamsRow = (rule) => {
    const row = h(
      "tr",
      {},
      h("td", {}, select(AVAILABILITIES.map((a) => [a, a]), rule.availability, "Teams availability")),
      h("td", {}, select(ACTIVITIES.map((a) => [a, a === "*" ? "Any activity" : a]), rule.activity, "Teams activity")),
      h("td", {}, h("input", { value: rule.idleCodeId || "", list: "idle-code-list", "aria-label": "Idle code ID", required: true })),
      h("td", {}, h("input", { value: rule.idleCodeName || "", "aria-label": "Idle code name" })),
      h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, "Remove")),
    );
    return row;
  };
  const agentRow = (rule) => {
    const row = h(
      "tr",
      {},
      h("td", {}, select(Object.entries(AGENT_STATES), rule.agentState, "Agent state")),
      h(
        "td",
        {},
        select(TEAMS_PRESENCES.map(([a, b]) => [`${a}/${b}`, `${a} (${b})`]), `${rule.availability}/${rule.activity}`, "Teams presence"),
      ),
      h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, "Remove")),
    );
    return row;
  };
  teamsRows.append(...mappings.teamsToContactCenter.map(teamsRow));
  agentRows.append(...mappings.contactCenterToTeams.map(agentRow));

  const read = () => ({
    teamsToContactCenter: [...teamsRows.rows].map((row) => {
      const [availability, activity] = row.querySelectorAll("select");
      const [id, name] = row.querySelectorAll("input");
      const rule = { availability: availability.value, activity: activity.value, idleCodeId: id.value.trim() };
      if (name.value.trim()) rule.idleCodeName = name.value.trim();
      return rule;
    }),
    contactCenterToTeams: [...agentRows.rows].map((row) => {
      const [state, presence] = row.querySelectorAll("select");
      const [availability, activity] = presence.value.split("/");
      return { agentState: state.value, availability, activity };
    }),
  });

  const clearRowErrors = () => {
    for (const row of body.querySelectorAll("tr[aria-invalid]")) row.removeAttribute("aria-invalid");
    for (const note of body.querySelectorAll(".row-error")) note.remove();
  };
  const showRowError = (error) => {
    const match = ROW_ERROR.exec(error.message);
    if (!match) return false;
    const rows = match[1] === "teamsToContactCenter" ? teamsRows.rows : agentRows.rows;
    const row = rows[Number(match[2])];
    if (!row) return false;
    row.setAttribute("aria-invalid", "true");
    const note = h("tr", { class: "row-error" }, h("td", { colspan: row.cells.length, role: "alert" }, error.message));
    row.after(note);
    row.querySelector("select, input").focus();
    return true;
  };

  const save = h("button", { type: "submit" }, "Save mappings");
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Presence mappings" },
    codeList,
    h("p", {}, mappings.isDefault ? "These are the default mappings: saving makes them this tenant's own." : ""),
    h("h2", { id: "teams-to-cc" }, "Teams presence → contact-center idle code"),
    h(
      "table",
      { "aria-labelledby": "teams-to-cc" },
      h("thead", {}, h("tr", {}, ["Availability", "Activity", "Idle code ID", "Idle code name", ""].map((t) => h("th", { scope: "col" }, t)))),
      teamsRows,
    ),
    h("button", { type: "button", class: "secondary", onclick: () => teamsRows.append(teamsRow({ availability: "Busy", activity: "*" })) }, "Add a Teams presence"),
    h("h2", { id: "cc-to-teams" }, "Agent state → Teams presence"),
    h(
      "table",
      { "aria-labelledby": "cc-to-teams" },
      h("thead", {}, h("tr", {}, ["Agent state", "Teams presence", ""].map((t) => h("th", { scope: "col" }, t)))),
      agentRows,
    ),
    h("button", { type: "button", class: "secondary", onclick: () => agentRows.append(agentRow({ agentState: "onCall", availability: "Busy", activity: "InACall" })) }, "Add an agent state"),
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    ctx.clearAlert();
    clearRowErrors();
    save.disabled = true;
    try {
      await call("PUT", tenantPath(ctx.tenantId, "/presence-mappings"), { body: read(), ifMatch: etag });
      await renderMappings(ctx);
      ctx.notify("Presence mappings saved.");
    } catch (error) {
      save.disabled = false;
      if (error instanceof ApiError && error.status === 412) {
        await renderMappings(ctx);
        ctx.fail(new Error("Someone else changed the mappings meanwhile: the page shows them as they are now. Make your change again."));
      } else if (!(error instanceof ApiError && error.status === 400 && showRowError(error))) {
        ctx.fail(error);
      }
    }
  });
  replace(body, form);
}
