// In the Teams client the page is a tab: the Teams JavaScript library (served from this app) tells the
// theme and the tenant. Outside Teams, initialize() never resolves, so it is only awaited with a bound.

let context = null;
let initialized = null;

export function inTeams() {
  return context !== null;
}

function inFrameOrTeamsWindow() {
  return window.parent !== window || Boolean(window.opener) || /Teams\//.test(navigator.userAgent);
}

// The Teams JavaScript library (pinned from npm, served from this app, never a CDN) is loaded only where
// Teams can be around the page: outside Teams it would only try to fetch Microsoft's list of Teams
// origins, which the Content-Security-Policy refuses (the library then uses the list it ships with).
function loadLibrary() {
  return new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = "/api/console/assets/microsoft-teams.min.js";
    script.onload = () => resolve(window.microsoftTeams || null);
    script.onerror = () => resolve(null);
    document.head.append(script);
  });
}

export function teamsContext() {
  if (initialized) return initialized;
  if (!inFrameOrTeamsWindow()) {
    initialized = Promise.resolve(null);
    return initialized;
  }
  initialized = loadLibrary().then((library) => (library && library.app ? initializeIn(library) : null));
  return initialized;
}

function initializeIn(library) {
  return Promise.race([
    library.app.initialize().then(() => library.app.getContext()),
    new Promise((resolve) => setTimeout(() => resolve(null), 3000)),
  ]).then(
    (found) => {
      if (!found) return null;
      context = { tenantId: found.user && found.user.tenant ? found.user.tenant.id : null, theme: found.app.theme };
      applyTheme(context.theme);
      library.app.registerOnThemeChangeHandler(applyTheme);
      library.app.notifySuccess();
      return context;
    },
    () => null,
  );
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme === "dark" || theme === "contrast" ? theme : "default";
}
