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
    return Array.isArray(reply.data && reply.data.idleCodes) ? reply.data.idleCodes : [];
  } catch {
    return [];
  }
}

export async function renderMappings(ctx) {
  const body = document.getElementById("mappings-body");
  const [reply, codes] = await Promise.all([call("GET", tenantPath(ctx.tenantId, "/presence-mappings")), idleCodes(ctx)]);
  const mappings = reply.data;
  const etag = reply.etag;
  const byId = new Map(codes.map((code) => [code.id, code]));
  const teamsRows = h("tbody");
  const agentRows = h("tbody");

  // The contact center lists its idle codes: the admin picks one (a code no longer listed stays shown).
  const idleCodeChoice = (rule) => {
    const options = codes.map((code) => [code.id, code.name ? `${code.name} (${code.id})` : code.id]);
    if (rule.idleCodeId && !byId.has(rule.idleCodeId)) {
      options.unshift([rule.idleCodeId, `${rule.idleCodeName || rule.idleCodeId} (not listed by the contact center)`]);
    }
    if (!rule.idleCodeId) options.unshift(["", "Choose an idle code"]);
    return h("td", { colspan: 2 }, select(options, rule.idleCodeId || "", "Idle code"));
  };
  const teamsRow = (rule) => {
    const row = h(
      "tr",
      {},
      h("td", {}, select(AVAILABILITIES.map((a) => [a, a]), rule.availability, "Teams availability")),
      h("td", {}, select(ACTIVITIES.map((a) => [a, a === "*" ? "Any activity" : a]), rule.activity, "Teams activity")),
      codes.length ? idleCodeChoice(rule) : [
        h("td", {}, h("input", { value: rule.idleCodeId || "", "aria-label": "Idle code ID", required: true })),
        h("td", {}, h("input", { value: rule.idleCodeName || "", "aria-label": "Idle code name" })),
      ],
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
      const [availability, activity, chosen] = row.querySelectorAll("select");
      const rule = { availability: availability.value, activity: activity.value };
      if (chosen) {
        rule.idleCodeId = chosen.value;
        const code = byId.get(chosen.value);
        const shown = chosen.selectedOptions[0] ? chosen.selectedOptions[0].textContent : "";
        const name = code ? code.name : shown.replace(/ \(not listed by the contact center\)$/, "");
        if (name && name !== chosen.value) rule.idleCodeName = name;
        return rule;
      }
      const [id, name] = row.querySelectorAll("input");
      rule.idleCodeId = id.value.trim();
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
    h("p", {}, mappings.isDefault ? "These are the default mappings: saving makes them this tenant's own." : ""),
    h("h2", { id: "teams-to-cc" }, "Teams presence → contact-center idle code"),
    h(
      "table",
      { "aria-labelledby": "teams-to-cc" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          (codes.length ? ["Availability", "Activity", "Idle code", ""] : ["Availability", "Activity", "Idle code ID", "Idle code name", ""]).map((t) =>
            h("th", { scope: "col", colspan: t === "Idle code" ? 2 : null }, t),
          ),
        ),
      ),
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
