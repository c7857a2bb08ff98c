// Building the page without innerHTML: every text goes in as a text node, so nothing the API or a user
// typed is ever parsed as HTML.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

let fieldCounter = 0;

/** A labelled input (or select), with a help text and an error slot both tied to it for screen readers. */
export function field(label, control, help) {
  const id = control.id || `field-${++fieldCounter}`;
  control.id = id;
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  control.setAttribute("aria-describedby", help ? `${helpId} ${errorId}` : errorId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    help ? h("p", { class: "help", id: helpId }, help) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }),
  );
}

export function showFieldError(control, message) {
  const slot = document.getElementById(`${control.id}-error`);
  control.setAttribute("aria-invalid", message ? "true" : "false");
  if (slot) {
    slot.textContent = message || "";
    slot.hidden = !message;
  }
}

export function formatTime(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString();
}
