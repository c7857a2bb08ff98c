// The audit trail, newest first.
import { call, tenantPath } from "./api.js";
import { formatTime, h, replace } from "./dom.js";

export async function renderAudit(ctx) {
  const body = document.getElementById("audit-body");
  const reply = await call("GET", tenantPath(ctx.tenantId, "/audit"));
  const entries = reply.data.value;
  if (!entries.length) {
    replace(body, h("p", {}, "No admin action is recorded for this tenant."));
    return;
  }
  replace(
    body,
    h(
      "table",
      { "aria-label": "Audit trail" },
      h("thead", {}, h("tr", {}, ["When", "Action", "Outcome", "Who", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        entries.map((entry) =>
          h(
            "tr",
            { class: entry.outcome === "failed" ? "failed" : "" },
            h("td", {}, formatTime(entry.at)),
            h("td", {}, entry.action),
            h("td", {}, entry.outcome),
            h("td", {}, entry.actor || ""),
            h("td", {}, typeof entry.detail === "string" ? entry.detail : JSON.stringify(entry.detail || "")),
          ),
        ),
      ),
    ),
  );
}
