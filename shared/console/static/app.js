// The console's shell: who is signed in, which page shows, messages, and the Teams client around it.
import { ApiError, call, useCsrfToken } from "./api.js";
import { renderAgents } from "./agents.js";
import { renderAudit } from "./audit.js";
import { renderConnector } from "./connector.js";
import { renderDirectory } from "./directory.js";
import { renderMappings } from "./mappings.js";
import { renderOperations } from "./operations.js";
import { inTeams, teamsContext } from "./teams.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A page is a render function; pages other issues add register here.
const PAGES = {
  connector: { render: renderConnector, admin: true },
  mappings: { render: renderMappings, admin: true },
  agents: { render: renderAgents, admin: true },
  operations: { render: renderOperations, admin: true },
  audit: { render: renderAudit, admin: true },
  directory: { render: renderDirectory, admin: false },
};

const ctx = {
  session: null,
  get tenantId() {
    return this.session ? this.session.tenantId : null;
  },
  notify(message) {
    const notice = document.getElementById("notice");
    notice.textContent = message;
  },
  fail(error) {
    const alert = document.getElementById("alert");
    if (error instanceof ApiError && error.status === 401) {
      showSignIn("Your session has ended: sign in again.");
      return;
    }
    alert.textContent = error instanceof Error ? error.message : String(error);
    alert.hidden = false;
  },
  clearAlert() {
    const alert = document.getElementById("alert");
    alert.textContent = "";
    alert.hidden = true;
  },
  navigate(page) {
    if (location.hash === `#/${page}`) route();
    else location.hash = `#/${page}`;
  },
};

function showOnly(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
}

async function showSignIn(message) {
  ctx.session = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  showOnly("page-sign-in");
  const input = document.getElementById("sign-in-tenant");
  const params = new URLSearchParams(location.search);
  const context = await teamsContext();
  input.value = input.value || params.get("tenant") || (context && context.tenantId) || "";
  if (location.hash === "#/directory") {
    document.querySelector('#sign-in-form input[value="directory"]').checked = true;
  }
  if (message) ctx.notify(message);
}

function startSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = document.getElementById("sign-in-tenant");
  const error = document.getElementById("sign-in-error");
  const tenant = input.value.trim();
  if (!GUID.test(tenant)) {
    error.textContent = "Enter the tenant ID: a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47.";
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  const page = new FormData(form).get("page") || "admin";
  const query = new URLSearchParams({ tenant, page });
  if (inTeams()) {
    // Microsoft's sign-in page cannot be shown inside the Teams frame: Teams opens it in its window.
    query.set("popup", "1");
    window.microsoftTeams.authentication
      .authenticate({ url: `${location.origin}/api/console/sign-in?${query}`, width: 600, height: 640 })
      .then(() => start(), (reason) => ctx.fail(new Error(`Sign-in did not complete: ${reason}`)));
    return;
  }
  location.assign(`/api/console/sign-in?${query}`);
}

async function signOut() {
  try {
    await call("POST", "/api/console/sign-out");
  } catch (error) {
    ctx.fail(error);
    return;
  }
  useCsrfToken(null);
  history.replaceState(null, "", "/api/console/");
  showSignIn("You are signed out.");
}

async function route() {
  if (!ctx.session) return;
  ctx.clearAlert();
  const name = (location.hash.match(/^#\/([a-z-]+)/) || [])[1] || (ctx.session.isAdmin ? "connector" : "directory");
  const page = PAGES[name] || PAGES.connector;
  const key = PAGES[name] ? name : "connector";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#/${key}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (page.admin && !ctx.session.isAdmin) {
    showOnly("page-forbidden");
    document.getElementById("forbidden-text").textContent =
      `${ctx.session.userPrincipalName || "Your account"} is not an administrator of this tenant: the connector ` +
      "is managed by its Global Administrators, Privileged Role Administrators and holders of the Connector.Admin " +
      "role. The expert directory is open to everyone in the tenant.";
    return;
  }
  showOnly(`page-${key}`);
  try {
    await page.render(ctx);
  } catch (error) {
    ctx.fail(error);
  }
}

async function start() {
  let session;
  try {
    session = (await call("GET", "/api/console/session")).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showSignIn();
      return;
    }
    ctx.fail(error);
    return;
  }
  ctx.session = session;
  useCsrfToken(session.csrfToken);
  document.getElementById("who-name").textContent = session.displayName || session.userPrincipalName || "";
  document.getElementById("who").hidden = false;
  const nav = document.getElementById("nav");
  for (const item of nav.querySelectorAll("[data-admin]")) item.hidden = !session.isAdmin;
  nav.hidden = false;
  const params = new URLSearchParams(location.search);
  if (params.has("signedIn")) {
    history.replaceState(null, "", `/api/console/${location.hash}`);
    ctx.notify(`Signed in as ${session.userPrincipalName || session.displayName}.`);
  }
  await route();
}

function finishTeamsSignIn() {
  // This window is the one Teams opened for the sign-in: tell the tab, which then reads the session.
  const params = new URLSearchParams(location.search);
  if (params.get("teamsAuth") !== "done" || !inTeams()) return false;
  window.microsoftTeams.authentication.notifySuccess("signedIn");
  return true;
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("sign-in-form").addEventListener("submit", startSignIn);
  document.getElementById("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  await teamsContext();
  if (finishTeamsSignIn()) return;
  await start();
});
