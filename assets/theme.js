/* The desk's light / dark theme, applied as the page loads (before Dash renders), from the same
 * localStorage entry the header's switch keeps (dcc.Store "theme", stored as JSON). The wall
 * ignores it: it reads none of the tokens the attribute swaps (assets/tokens.css). */
(function () {
  try {
    var stored = JSON.parse(window.localStorage.getItem("theme"));
    document.documentElement.setAttribute("data-theme", stored === "light" ? "light" : "dark");
  } catch (e) {
    document.documentElement.setAttribute("data-theme", "dark");
  }
})();
