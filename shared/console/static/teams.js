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

export function teamsContext() {
  if (initialized) return initialized;
  const library = window.microsoftTeams;
  if (!library || !library.app || !inFrameOrTeamsWindow()) {
    initialized = Promise.resolve(null);
    return initialized;
  }
  initialized = Promise.race([
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
  return initialized;
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme === "dark" || theme === "contrast" ? theme : "default";
}
