// The expert directory: search Teams users by name, department and job title, with presence, out of
// office and the E.164 number to copy or transfer to. Open to every signed-in user of the tenant.
import { ApiError, call, tenantPath } from "./api.js";
import { field, h, replace } from "./dom.js";

const PRESENCE_CLASSES = {
  Available: "available",
  AvailableIdle: "available",
  Busy: "busy",
  BusyIdle: "busy",
  DoNotDisturb: "dnd",
  Away: "away",
  BeRightBack: "away",
  Offline: "offline",
  PresenceUnknown: "offline",
};

let form = null;
let formTenant = null;

export async function renderDirectory(ctx) {
  const body = document.getElementById("directory-body");
  if (form && body.contains(form) && formTenant === ctx.tenantId) return;
  formTenant = ctx.tenantId;
  const search = h("input", { id: "directory-search", type: "search", autocomplete: "off" });
  const department = h("input", { id: "directory-department", autocomplete: "off" });
  const jobTitle = h("input", { id: "directory-job-title", autocomplete: "off" });
  const available = h("input", { id: "directory-available", type: "checkbox" });
  const results = h("div", { id: "directory-results", "aria-live": "polite" });
  form = h(
    "form",
    { role: "search", novalidate: true, "aria-label": "Find an expert", class: "card" },
    h(
      "div",
      { class: "three" },
      field("Name", search),
      field("Department", department, "Starts with"),
      field("Job title", jobTitle, "Starts with"),
    ),
    h("div", { class: "toggle" }, available, h("label", { for: available.id }, "Available now only")),
    h("button", { type: "submit" }, "Search"),
  );
  const query = () => {
    const params = new URLSearchParams({ top: "25" });
    if (search.value.trim()) params.set("search", search.value.trim());
    if (department.value.trim()) params.set("department", department.value.trim());
    if (jobTitle.value.trim()) params.set("jobTitle", jobTitle.value.trim());
    if (available.checked) params.set("available", "true");
    return params;
  };
  const load = async (params, append) => {
    ctx.clearAlert();
    let reply;
    try {
      reply = await call("GET", tenantPath(ctx.tenantId, `/directory/users?${params}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.code !== "connectorNotFound") {
        replace(results, h("p", {}, "The expert directory is not available on this deployment."));
        return;
      }
      if (error instanceof ApiError && (error.status === 403 || error.status === 409)) {
        replace(results, h("p", { role: "alert" }, error.message));
        return;
      }
      throw error;
    }
    const list = append ? results.querySelector("ul") : h("ul", { class: "people", "aria-label": "Experts" });
    list.append(...reply.data.value.map(person));
    const more = reply.data.nextSkipToken
      ? h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              const next = query();
              next.set("skipToken", reply.data.nextSkipToken);
              load(next, true).catch((error) => ctx.fail(error));
            },
          },
          "Show more",
        )
      : null;
    const count = list.children.length;
    replace(results, h("p", { class: "help" }, count ? `${count} shown` : "Nobody matches."), list, more);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(query(), false).catch((error) => ctx.fail(error));
  });
  replace(body, form, results);
  search.focus();
}

function person(user) {
  const presence = user.presence || {};
  const availability = presence.availability || "PresenceUnknown";
  const label = presence.outOfOffice ? `${availability}, out of office` : availability;
  const phone = user.businessPhone;
  const copy = phone
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Copy ${user.displayName}'s number`,
          onclick: async (event) => {
            const button = event.currentTarget;
            try {
              await navigator.clipboard.writeText(phone);
              button.textContent = "Copied";
            } catch {
              button.textContent = "Copy failed: select the number";
            }
          },
        },
        "Copy",
      )
    : null;
  const transfer =
    user.transferable && user.transferTarget
      ? h("a", { class: "button", href: `tel:${user.transferTarget.number}`, "aria-label": `Transfer to ${user.displayName}` }, "Transfer")
      : null;
  return h(
    "li",
    { class: "person" },
    h("span", { class: `dot ${PRESENCE_CLASSES[availability] || "offline"}`, role: "img", "aria-label": label, title: label }),
    h(
      "div",
      {},
      h("p", { class: "name" }, user.displayName, presence.outOfOffice ? h("span", { class: "badge" }, "Out of office") : null),
      h("p", { class: "help" }, [user.jobTitle, user.department].filter(Boolean).join(" · ")),
      presence.statusMessage ? h("p", { class: "help" }, presence.statusMessage) : null,
    ),
    h("div", { class: "phone" }, phone ? h("span", {}, phone) : h("span", { class: "help" }, "No phone number"), copy, transfer),
  );
}
