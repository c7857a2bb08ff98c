// The connector card (status and the actions of that status) and its details (settings, contact center).
import { ApiError, call, contract, hasPath, inputFields, tenantPath } from "./api.js";
import { field, formatTime, h, replace, showFieldError } from "./dom.js";

const STATUS_LABELS = { active: "Active", inactive: "Inactive", pendingConsent: "Pending consent" };
const REDACTED = "<redacted>";

// What this deployment's API takes for Webex: the integration's client id and secret in the settings,
// or (newer) only orgId and baseUrl plus a Webex sign-in.
let webexApi = { credentialFields: false, signIn: false };

export async function renderConnector(ctx) {
  const api = await contract();
  const fields = inputFields(api, "WebexContactCenterInput");
  webexApi = {
    credentialFields: fields.has("clientId"),
    signIn: hasPath(api, "/tenants/{tenantId}/contact-center/webex/authorize"),
  };
  const card = document.getElementById("connector-card");
  const details = document.getElementById("connector-details");
  let reply;
  try {
    reply = await call("GET", tenantPath(ctx.tenantId, "/connector"));
  } catch (error) {
    if (error instanceof ApiError && error.code === "connectorNotFound") {
      replace(card, notSetUp(ctx));
      replace(details);
      return;
    }
    throw error;
  }
  const connector = reply.data;
  replace(card, statusCard(ctx, connector));
  replace(details, settingsForm(ctx, connector, reply.etag), contactCenterForm(ctx, connector, reply.etag));
}

function action(label, onclick, extra = {}) {
  return h("button", { type: "button", onclick, ...extra }, label);
}

async function run(ctx, what, work) {
  ctx.clearAlert();
  ctx.notify("");
  try {
    await work();
    if (what) ctx.notify(what);
  } catch (error) {
    ctx.fail(error);
  }
}

function notSetUp(ctx) {
  const heading = h("h2", {}, "Not set up");
  const text = h("p", {}, "This tenant has no connector yet. Set it up, then authorize it as a Global Administrator.");
  const form = setUpForm(ctx);
  return [heading, h("p", { class: "status", dataset: { status: "none" } }, "Status: not set up"), text, form];
}

function contactCenterFields(prefix, current) {
  const type = h(
    "select",
    { id: `${prefix}-type`, name: "type" },
    h("option", { value: "none" }, "None yet"),
    h("option", { value: "webhook" }, "Webhook"),
    h("option", { value: "webexcc" }, "Webex Contact Center"),
  );
  type.value = current ? current.type : "webhook";
  const secretHelp = current ? "Write-only: leave empty to keep the stored one." : "At least 16 characters.";
  const url = h("input", { id: `${prefix}-url`, name: "url", type: "url", value: current && current.url ? current.url : "" });
  const secret = h("input", { id: `${prefix}-secret`, name: "secret", type: "password", autocomplete: "new-password" });
  const baseUrl = h("input", { id: `${prefix}-base-url`, name: "baseUrl", type: "url", value: current && current.baseUrl ? current.baseUrl : "" });
  const orgId = h("input", { id: `${prefix}-org-id`, name: "orgId", value: current && current.orgId ? current.orgId : "" });
  const clientId = h("input", { id: `${prefix}-client-id`, name: "clientId", value: current && current.clientId ? current.clientId : "" });
  const clientSecret = h("input", { id: `${prefix}-client-secret`, name: "clientSecret", type: "password", autocomplete: "new-password" });
  const webhook = h(
    "div",
    { class: "group", dataset: { kind: "webhook" } },
    field("Webhook URL", url, "https (plain http only on loopback, for the local simulator)."),
    field("Webhook secret", secret, secretHelp),
  );
  // Webex carries no credential in the connector's settings: an admin connects it by signing in to Webex.
  const webex = h(
    "fieldset",
    { class: "group", dataset: { kind: "webexcc" } },
    h("legend", {}, "Webex Contact Center"),
    field("Organization ID", orgId, "The organization's ID in Control Hub."),
    field("API base URL", baseUrl, "Your region's Webex Contact Center API host, for example https://api.wxcc-us1.cisco.com"),
    webexApi.credentialFields
      ? [
          field("Integration client ID", clientId),
          field("Integration client secret", clientSecret, current ? "Write-only: leave empty to keep the stored one." : ""),
        ]
      : null,
  );
  const sync = () => {
    webhook.hidden = type.value !== "webhook";
    webex.hidden = type.value !== "webexcc";
  };
  type.addEventListener("change", sync);
  sync();
  const read = () => {
    if (type.value === "none") return null;
    if (type.value === "webhook") {
      return { type: "webhook", url: url.value.trim(), secret: secret.value || REDACTED };
    }
    const webexcc = { type: "webexcc", orgId: orgId.value.trim(), baseUrl: baseUrl.value.trim() };
    if (webexApi.credentialFields) {
      webexcc.clientId = clientId.value.trim();
      webexcc.clientSecret = clientSecret.value || REDACTED;
    }
    return webexcc;
  };
  const controls = { type, url, secret, baseUrl, orgId, clientId, clientSecret };
  return { elements: [field("Contact center", type), webhook, webex], read, controls };
}

function toggle(id, label, checked) {
  return h("input", { id, type: "checkbox", role: "switch", checked, "aria-label": label });
}

function setUpForm(ctx) {
  const showUserDetails = toggle("setup-show-user-details", "Show user details", true);
  const presenceSync = toggle("setup-presence-sync", "Presence sync", true);
  const center = contactCenterFields("setup", null);
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Set up the connector" },
    h("div", { class: "toggle" }, showUserDetails, h("label", { for: showUserDetails.id }, "Show user details")),
    h("div", { class: "toggle" }, presenceSync, h("label", { for: presenceSync.id }, "Presence sync")),
    center.elements,
    h("button", { type: "submit" }, "Set up"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(ctx, "Set up: the connector now waits for admin consent.", async () => {
      const contactCenter = center.read();
      if (contactCenter && contactCenter.secret === REDACTED) delete contactCenter.secret;
      if (contactCenter && contactCenter.clientSecret === REDACTED) delete contactCenter.clientSecret;
      const body = { settings: { showUserDetails: showUserDetails.checked, presenceSync: presenceSync.checked } };
      if (contactCenter) body.contactCenter = contactCenter;
      try {
        await call("POST", tenantPath(ctx.tenantId, "/connector"), { body });
      } catch (error) {
        markContactCenterError(center.controls, error);
        throw error;
      }
      await renderConnector(ctx);
    });
  });
  return form;
}

function markContactCenterError(controls, error) {
  if (!(error instanceof ApiError) || error.status !== 400) return;
  const match = /contactCenter\.(\w+)/.exec(error.message);
  const control = match && controls[match[1]];
  if (control) {
    showFieldError(control, error.message);
    control.focus();
  }
}

function statusCard(ctx, connector) {
  const label = STATUS_LABELS[connector.status] || connector.status;
  const actions = h("div", { class: "actions" });
  const extra = h("div", { class: "card-extra" });
  const path = (rest) => tenantPath(ctx.tenantId, `/connector${rest}`);
  if (connector.status === "pendingConsent") {
    actions.append(
      action("Authorize", () =>
        run(ctx, "", async () => {
          // A fresh consent link (older ones stop working); Microsoft's page opens in a new window.
          const fresh = await call("POST", path("/consent"));
          const link = h(
            "a",
            { href: fresh.data.consentUrl, target: "_blank", rel: "noopener noreferrer", class: "button" },
            "Open Microsoft's admin consent page",
          );
          replace(
            extra,
            h("p", {}, "Sign in as a Global Administrator or Privileged Role Administrator and accept. Then check the status."),
            link,
            " ",
            action(
              "Check status",
              () =>
                run(ctx, "", async () => {
                  await renderConnector(ctx);
                  const shown = document.querySelector("#connector-card .status");
                  ctx.notify(shown ? shown.textContent : "");
                }),
              { class: "secondary" },
            ),
          );
          link.focus();
        }),
      ),
      action("Cancel setup", () => confirmDelete(ctx, extra, "Cancel this setup? Its consent link stops working.")),
    );
  } else if (connector.status === "active") {
    actions.append(
      action("Deactivate", () =>
        run(ctx, "Deactivated: presence sync stopped.", async () => {
          await call("POST", path("/deactivate"));
          await renderConnector(ctx);
        }),
      ),
    );
  } else if (connector.status === "inactive") {
    actions.append(
      action("Reactivate", () =>
        run(ctx, "Reactivated.", async () => {
          await call("POST", path("/reactivate"));
          await renderConnector(ctx);
        }),
      ),
      action("Delete", () => confirmDelete(ctx, extra, "Delete the connector and all its data? This cannot be undone."), {
        class: "danger",
      }),
    );
  }
  const consentError = connector.lastConsentError
    ? h("p", { class: "field-error" }, `Last consent attempt failed: ${connector.lastConsentError.error}: ${connector.lastConsentError.description || ""}`)
    : null;
  const counts = connector.counts || {};
  return [
    h("h2", {}, `Tenant ${connector.tenantId}`),
    h("p", { class: "status", dataset: { status: connector.status } }, `Status: ${label}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Created"),
      h("dd", {}, formatTime(connector.createdAt)),
      connector.activatedAt ? [h("dt", {}, "Activated"), h("dd", {}, formatTime(connector.activatedAt))] : null,
      connector.deactivatedAt ? [h("dt", {}, "Deactivated"), h("dd", {}, formatTime(connector.deactivatedAt))] : null,
      counts.agents !== undefined ? [h("dt", {}, "Agents"), h("dd", {}, String(counts.agents))] : null,
    ),
    consentError,
    actions,
    extra,
  ];
}

function confirmDelete(ctx, extra, question) {
  const yes = action(
    "Yes, delete",
    () =>
      run(ctx, "", async () => {
        const deleted = await call("DELETE", tenantPath(ctx.tenantId, "/connector"));
        const steps = deleted.data && deleted.data.nextSteps;
        await renderConnector(ctx);
        if (steps) showNextSteps(steps);
        ctx.notify("Deleted: the connector and all its data are gone.");
      }),
    { class: "danger" },
  );
  replace(extra, h("p", {}, question), yes, " ", action("Keep it", () => replace(extra), { class: "secondary" }));
  yes.focus();
}

function showNextSteps(steps) {
  const card = document.getElementById("connector-card");
  card.append(
    h(
      "div",
      { class: "next-steps", role: "region", "aria-label": "Remove the enterprise application" },
      h("h3", {}, "One step is left: remove the enterprise application"),
      h("p", {}, steps.message),
      h("pre", {}, h("code", {}, (steps.commands || []).join("\n"))),
    ),
  );
}

function settingsForm(ctx, connector, etag) {
  const showUserDetails = toggle("show-user-details", "Show user details", connector.settings.showUserDetails);
  const presenceSync = toggle("presence-sync", "Presence sync", connector.settings.presenceSync);
  const save = (name, input) => async () => {
    await run(ctx, `${name} ${input.checked ? "on" : "off"}.`, async () => {
      input.disabled = true;
      try {
        await patch(ctx, { settings: { [input.dataset.setting]: input.checked } }, etag);
      } finally {
        input.disabled = false;
      }
    });
  };
  showUserDetails.dataset.setting = "showUserDetails";
  presenceSync.dataset.setting = "presenceSync";
  showUserDetails.addEventListener("change", save("Show user details", showUserDetails));
  presenceSync.addEventListener("change", save("Presence sync", presenceSync));
  return h(
    "section",
    { class: "card", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h("div", { class: "toggle" }, showUserDetails, h("label", { for: showUserDetails.id }, "Show user details")),
    h("p", { class: "help" }, "Show names, departments and job titles of agents to the contact center."),
    h("div", { class: "toggle" }, presenceSync, h("label", { for: presenceSync.id }, "Presence sync")),
    h("p", { class: "help" }, "Keep Teams presence and the contact center's agent states in step, both ways."),
  );
}

async function patch(ctx, body, etag) {
  try {
    await call("PATCH", tenantPath(ctx.tenantId, "/connector"), { body, ifMatch: etag });
  } catch (error) {
    if (error instanceof ApiError && error.status === 412) {
      await renderConnector(ctx);
      throw new Error("Someone else changed the connector meanwhile: the page shows it as it is now. Make your change again.");
    }
    throw error;
  }
  await renderConnector(ctx);
}

function contactCenterForm(ctx, connector, etag) {
  const center = contactCenterFields("cc", connector.contactCenter);
  const health = connector.contactCenterHealth;
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "cc-title" },
    h("h2", { id: "cc-title" }, "Contact center"),
    center.elements,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Save contact center"),
      connector.contactCenter
        ? action("Test the contact center", () =>
            run(ctx, "", async () => {
              const tested = await call("POST", tenantPath(ctx.tenantId, "/contact-center/test"));
              ctx.notify(`Test: ${tested.data.reason || (tested.data.accepted ? "accepted" : "not accepted")}`);
              await renderConnector(ctx);
            }),
          { class: "secondary" })
        : null,
    ),
    connector.contactCenter && connector.contactCenter.type === "webexcc" && webexApi.signIn
      ? webexConnection(ctx, connector)
      : null,
    health
      ? h("p", { class: health.accepted ? "ok" : "field-error" }, `Last evidence (${health.source}, ${formatTime(health.at)}): ${health.reason}`)
      : null,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(ctx, "Contact center saved.", async () => {
      try {
        await patch(ctx, { contactCenter: center.read() }, etag);
      } catch (error) {
        markContactCenterError(center.controls, error);
        throw error;
      }
    });
  });
  return form;
}

const WEBEX_STATUS = {
  notAuthorized: "Not connected yet",
  authorized: "Connected",
  reauthorizationRequired: "Sign in to Webex again",
};

function webexConnection(ctx, connector) {
  const webex = connector.webex || {};
  const extra = h("div", { class: "card-extra" });
  const connect = action(
    "Connect Webex Contact Center",
    () =>
      run(ctx, "", async () => {
        const started = await call("POST", tenantPath(ctx.tenantId, "/contact-center/webex/authorize"));
        const link = h(
          "a",
          { href: started.data.authorizeUrl, target: "_blank", rel: "noopener noreferrer", class: "button" },
          "Open the Webex sign-in page",
        );
        replace(
          extra,
          h("p", {}, `Sign in there as an administrator of the Webex organization before ${formatTime(started.data.expiresAt)}, then check the status.`),
          link,
          " ",
          action("Check status", () => run(ctx, "", () => renderConnector(ctx)), { class: "secondary" }),
        );
        link.focus();
      }),
    { class: webex.status === "authorized" ? "secondary" : "" },
  );
  return h(
    "div",
    { class: "webex" },
    h("p", { id: "webex-status" }, `Webex: ${WEBEX_STATUS[webex.status] || "Not connected yet"}`, webex.authorizedBy ? ` (by ${webex.authorizedBy}, ${formatTime(webex.authorizedAt)})` : ""),
    webex.lastError ? h("p", { class: "field-error" }, webex.lastError) : null,
    h("div", { class: "actions" }, connect),
    extra,
  );
}
