// The roster (sync status, add, import, remove) and the sync accounts that carry its subscriptions.
import { ApiError, call, contract, hasPath, tenantPath } from "./api.js";
import { field, formatTime, h, replace, showFieldError } from "./dom.js";
import { agentSyncDetails } from "./operations.js";

const number = new Intl.NumberFormat("en-US");

export async function renderAgents(ctx) {
  await Promise.all([renderSyncAccounts(ctx), renderRoster(ctx)]);
}

function removeButton(ctx, label, path, done) {
  const remove = async () => {
    try {
      await call("DELETE", tenantPath(ctx.tenantId, path));
      ctx.notify(done);
      await renderAgents(ctx);
    } catch (error) {
      ctx.fail(error);
    }
  };
  return h("button", { type: "button", class: "secondary", "aria-label": label, onclick: remove }, "Remove");
}

function plural(count, one, many) {
  return `${number.format(count)} ${count === 1 ? one : many}`;
}

async function renderSyncAccounts(ctx) {
  const body = document.getElementById("sync-accounts-body");
  const [connector, accounts] = await Promise.all([
    call("GET", tenantPath(ctx.tenantId, "/connector")),
    call("GET", tenantPath(ctx.tenantId, "/sync-accounts")),
  ]);
  const counts = (connector.data.counts && connector.data.counts.syncAccounts) || { signedIn: 0, needed: 0 };
  const agents = (connector.data.counts && connector.data.counts.agents) || 0;
  const capacity = `${plural(agents, "agent needs", "agents need")} ${plural(counts.needed, "sync account", "sync accounts")}; ${number.format(counts.signedIn)} signed in`;
  const hint = h("input", { id: "sync-login-hint", type: "email", autocomplete: "off", placeholder: "presence-sync@contoso.com" });
  const result = h("div", { class: "card-extra" });
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Sign in a sync account" },
    field("Sync account", hint, "The service account whose sign-in reads the agents' Teams presence (Presence.Read.All)."),
    h("button", { type: "submit" }, "Sign in a sync account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    ctx.clearAlert();
    showFieldError(hint, "");
    try {
      const loginHint = hint.value.trim();
      const started = await call("POST", tenantPath(ctx.tenantId, "/sync-accounts"), { body: loginHint ? { loginHint } : {} });
      const link = h("a", { href: started.data.authorizeUrl, target: "_blank", rel: "noopener noreferrer", class: "button" }, "Open Microsoft's sign-in page");
      replace(
        result,
        h("p", {}, `Sign in there as the sync account before ${formatTime(started.data.expiresAt)}, then refresh.`),
        link,
        " ",
        h("button", { type: "button", class: "secondary", onclick: () => renderAgents(ctx).catch((e) => ctx.fail(e)) }, "Refresh"),
      );
      link.focus();
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) showFieldError(hint, error.message);
      else ctx.fail(error);
    }
  });
  const rows = accounts.data.syncAccounts.map((account) =>
    h(
      "tr",
      {},
      h("td", {}, account.userPrincipalName),
      h("td", {}, account.status === "healthy" ? "Signed in" : "Sign in again"),
      h("td", {}, `${number.format(account.capacity.used)} of ${number.format(account.capacity.limit)}`),
      h("td", {}, formatTime(account.lastTokenAt)),
      h(
        "td",
        {},
        removeButton(ctx, `Remove sync account ${account.userPrincipalName}`, `/sync-accounts/${encodeURIComponent(account.id)}`, `Sync account ${account.userPrincipalName} removed.`),
      ),
    ),
  );
  replace(
    body,
    h(
      "section",
      { class: "card", "aria-labelledby": "sync-title" },
      h("h2", { id: "sync-title" }, "Sync accounts"),
      h("p", { id: "sync-capacity", class: "capacity" }, capacity),
      rows.length
        ? h(
            "table",
            { "aria-labelledby": "sync-title" },
            h("thead", {}, h("tr", {}, ["Account", "Status", "Agents", "Last token", ""].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No sync account is signed in yet."),
      form,
      result,
    ),
  );
}

function syncStatus(agent) {
  if (!agent.subscribed) return "Waiting for a sync account";
  if (!agent.lastPresence) return "Subscribed";
  return `Subscribed: ${agent.lastPresence.availability} (${agent.lastPresence.activity})`;
}

/** The tenant's agent groups, where this deployment's API has them (null: it has none). */
async function agentGroups(ctx) {
  if (!hasPath(await contract(), "/tenants/{tenantId}/agent-groups")) return null;
  return (await call("GET", tenantPath(ctx.tenantId, "/agent-groups"))).data.groups;
}

function groupName(groups, groupId) {
  const group = (groups || []).find((g) => g.groupId === groupId);
  return group && group.displayName !== groupId ? `${group.displayName} (${groupId})` : groupId;
}

function detailsButton(ctx, agent, columns) {
  // The agent's GET sync-status, in a row under his own; fetched when opened, again on every opening.
  const button = h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-label": `Sync details of agent ${agent.agentId}` }, "Sync details");
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const open = row.nextElementSibling && row.nextElementSibling.classList.contains("details-row") ? row.nextElementSibling : null;
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    // Not disabled while loading: a disabled button drops the keyboard focus.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      const cell = h("td", { colspan: columns }, await agentSyncDetails(ctx, agent.agentId));
      const details = h("tr", { class: "details-row", id: `sync-details-${agent.agentId}` }, cell);
      row.after(details);
      button.setAttribute("aria-controls", details.id);
      button.setAttribute("aria-expanded", "true");
    } catch (error) {
      ctx.fail(error);
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
  return button;
}

async function renderRoster(ctx, cursor = null, previous = []) {
  const body = document.getElementById("agents-body");
  const query = new URLSearchParams({ limit: "100" });
  if (cursor) query.set("cursor", cursor);
  const [page, groups] = await Promise.all([call("GET", tenantPath(ctx.tenantId, `/agents?${query}`)), agentGroups(ctx)]);
  const agents = [...previous, ...page.data.agents];
  const group = groups
    ? h("select", { id: "agent-group" }, groups.map((g) => h("option", { value: g.groupId }, groupName(groups, g.groupId))))
    : null;
  const agentId = h("input", { id: "agent-id", autocomplete: "off", required: true });
  const upn = h("input", { id: "agent-upn", type: "email", autocomplete: "off", required: true });
  const addForm = h(
    "form",
    { novalidate: true, "aria-label": "Add an agent" },
    h("h3", {}, "Add an agent"),
    field("Agent ID", agentId, "The agent's id in the contact center."),
    field("Teams user", upn, "The user principal name (sign-in name) in this tenant."),
    group ? field("Agent group", group, "Its presence sync and mappings apply to the agent.") : null,
    h("button", { type: "submit" }, "Add agent"),
  );
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    ctx.clearAlert();
    showFieldError(agentId, "");
    showFieldError(upn, "");
    if (!agentId.value.trim()) {
      showFieldError(agentId, "Enter the agent's id.");
      agentId.focus();
      return;
    }
    try {
      await call("PUT", tenantPath(ctx.tenantId, `/agents/${encodeURIComponent(agentId.value.trim())}`), {
        body: group ? { userPrincipalName: upn.value.trim(), groupId: group.value } : { userPrincipalName: upn.value.trim() },
      });
      ctx.notify(`Agent ${agentId.value.trim()} added.`);
      await renderAgents(ctx);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500 && error.status !== 401 && error.status !== 403) {
        showFieldError(/agentId/i.test(error.message) ? agentId : upn, error.message);
      } else {
        ctx.fail(error);
      }
    }
  });
  const importText = h("textarea", { id: "agents-import", rows: 4, spellcheck: "false", placeholder: "agent-001,ann.lee@contoso.com" });
  const importForm = h(
    "form",
    { novalidate: true, "aria-label": "Import agents" },
    h("h3", {}, "Import agents"),
    field(
      groups ? "One agent a line: agent ID, user principal name[, agent group ID]" : "One agent a line: agent ID, user principal name",
      importText,
    ),
    h("button", { type: "submit" }, "Import"),
  );
  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    ctx.clearAlert();
    const lines = importText.value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    const rows = lines.map((line) => line.split(",").map((part) => part.trim()));
    const most = groups ? 3 : 2;
    const bad = rows.findIndex((parts) => parts.length < 2 || parts.length > most || !parts[0] || !parts[1]);
    if (!rows.length || bad >= 0) {
      const shape = groups ? "agent ID, user principal name[, agent group ID]" : "agent ID, user principal name";
      showFieldError(importText, rows.length ? `Line ${bad + 1} is not "${shape}".` : "Enter at least one line.");
      return;
    }
    showFieldError(importText, "");
    try {
      const imported = await call("POST", tenantPath(ctx.tenantId, "/agents/import"), {
        body: {
          agents: rows.map(([id, name, groupId]) => (groupId ? { agentId: id, userPrincipalName: name, groupId } : { agentId: id, userPrincipalName: name })),
        },
      });
      const failed = imported.data.results.filter((r) => r.status === "failed");
      const summary = Object.entries(imported.data.summary).map(([k, v]) => `${v} ${k}`).join(", ");
      ctx.notify(`Import: ${summary}.`);
      await renderAgents(ctx);
      if (failed.length) {
        ctx.fail(new Error(failed.map((r) => `${r.agentId}: ${r.error ? r.error.message : "failed"}`).join("; ")));
      }
    } catch (error) {
      ctx.fail(error);
    }
  });
  const headings = ["Agent ID", "Name", "Teams user", ...(groups ? ["Group"] : []), "Sync status", ""];
  const rows = agents.map((agent) =>
    h(
      "tr",
      {},
      h("td", {}, agent.agentId),
      h("td", {}, agent.displayName || ""),
      h("td", {}, agent.userPrincipalName || agent.userId),
      groups ? h("td", {}, groupName(groups, agent.groupId)) : null,
      h("td", {}, syncStatus(agent)),
      h(
        "td",
        { class: "row-actions" },
        detailsButton(ctx, agent, headings.length),
        " ",
        removeButton(ctx, `Remove agent ${agent.agentId}`, `/agents/${encodeURIComponent(agent.agentId)}`, `Agent ${agent.agentId} removed.`),
      ),
    ),
  );
  replace(
    body,
    h(
      "section",
      { class: "card", "aria-labelledby": "roster-title" },
      h("h2", { id: "roster-title" }, "Roster"),
      rows.length
        ? h(
            "table",
            { "aria-labelledby": "roster-title" },
            h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows),
          )
        : h("p", {}, "No agents yet."),
      page.data.nextCursor
        ? h("button", { type: "button", class: "secondary", onclick: () => renderRoster(ctx, page.data.nextCursor, agents).catch((e) => ctx.fail(e)) }, "Show more")
        : null,
      h("div", { class: "two" }, addForm, importForm),
    ),
  );
}
