/* OneGrid wall: clientside functions (no server round trip) and the HTML area-name layer.
 *
 * applyDiff: applies a refresh's changed values to the map as a dash_clientside.Patch of z.
 * setLabels: area names drawn as HTML over the MapLibre map (MapLibre text would need a glyphs
 *            URL; an air-gapped wall has none), and fitting the map to the area of a new view.
 * clock:     the city's local time, every second, in the city's time zone.
 * syncUrl:   the address bar always reproduces the view shown.
 */
(function () {
  "use strict";
  var state = { labels: null, fitted: null, hooked: null, marks: [] };

  function checksum(z) {
    var s = 0;
    for (var i = 0; i < z.length; i++) {
      s += z[i] * ((i % 97) + 1);
    }
    return s % 2147483647;
  }

  function mapOf(graphId) {
    var host = document.getElementById(graphId);
    var gd = host && host.querySelector(".js-plotly-plot");
    var full = gd && gd._fullLayout;
    var sub = full && full.map && full.map._subplot;
    return sub && sub.map ? { gd: gd, map: sub.map } : null;
  }

  // red and orange warning cells: pulsing rings over the map (HTML, so no glyphs are needed)
  function renderMarks(map) {
    var layer = document.getElementById("warn-mark-layer");
    if (!layer) {
      return;
    }
    var marks = state.marks || [];
    var key = marks.map(function (m) { return m.key + m.level; }).join(",");
    if (layer.dataset.key !== key) {
      layer.textContent = "";
      marks.forEach(function (m) {
        var el = document.createElement("div");
        el.className = "og-warn-mark og-warn-mark-" + m.level;
        el.dataset.cell = m.key;
        layer.appendChild(el);
      });
      layer.dataset.key = key;
    }
    var nodes = layer.children;
    for (var i = 0; i < marks.length; i++) {
      var p = map.project([marks[i].x, marks[i].y]);
      nodes[i].style.transform = "translate(-50%, -50%) translate(" + p.x + "px," + p.y + "px)";
    }
  }

  function render() {
    var found0 = mapOf("cell-map");
    if (found0) {
      renderMarks(found0.map);
    }
    var layer = document.getElementById("map-label-layer");
    var found = mapOf("cell-map");
    if (!layer || !found || !state.labels) {
      return;
    }
    var map = found.map;
    var items = state.labels.labels || [];
    var key = state.labels.sig + "|" + state.labels.lang;
    if (layer.childElementCount !== items.length || layer.dataset.key !== key) {
      layer.textContent = "";
      items.forEach(function (it) {
        var el = document.createElement("div");
        el.className = "og-map-label" + (state.labels.big ? " og-big" : "");
        el.textContent = it.n;
        layer.appendChild(el);
      });
      layer.dataset.key = key;
    }
    var nodes = layer.children;
    for (var i = 0; i < items.length; i++) {
      var p = map.project([items[i].x, items[i].y]);
      nodes[i].style.transform = "translate(-50%, -50%) translate(" + p.x + "px," + p.y + "px)";
    }
  }

  function attach() {
    var found = mapOf("cell-map");
    if (!found || !state.labels) {
      return false;
    }
    var map = found.map;
    if (state.hooked !== map) {
      map.on("move", render);
      map.on("resize", render);
      state.hooked = map;
      state.fitted = null;
    }
    var b = state.labels.bounds;
    if (b && state.fitted !== state.labels.sig) {
      map.resize();
      // eventData with an originalEvent: plotly then stores the view as a user edit, so
      // uirevision keeps it through the value patches that follow
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 28, animate: false },
                    { originalEvent: { type: "fit" } });
      state.fitted = state.labels.sig;
      var layer = document.getElementById("map-label-layer");
      if (layer) {
        layer.dataset.fitted = state.fitted; // tests wait for this before clicking the map
      }
    }
    render();
    return true;
  }

  // the map is (re)created by plotly after the figure arrives: keep trying briefly
  function attachSoon() {
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      if (attach() || tries > 100) {
        clearInterval(timer);
      }
    }, 100);
  }
  window.addEventListener("resize", function () {
    state.fitted = null;
    attachSoon();
  });

  var formatters = {};

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onegrid: {
      applyDiff: function (diff, shown) {
        var nu = window.dash_clientside.no_update;
        if (!diff || !shown || diff.sig !== shown.sig) {
          return [nu, nu];
        }
        var z;
        if (diff.z) {
          z = diff.z;
        } else {
          if (checksum(shown.z) !== diff.base) {
            return [nu, null]; // out of step: the next tick rebuilds the map
          }
          z = shown.z.slice();
          for (var k = 0; k < diff.i.length; k++) {
            z[diff.i[k]] = diff.v[k];
          }
        }
        var patch = new window.dash_clientside.Patch();
        patch.assign(["data", 0, "z"], z);
        return [patch.build(), { sig: shown.sig, z: z }];
      },
      setMarks: function (data) {
        state.marks = (data && data.marks) || [];
        var found = mapOf("cell-map");
        if (found) {
          renderMarks(found.map);
        }
        return String(state.marks.length);
      },
      setLabels: function (data) {
        state.labels = data;
        attachSoon();
        return Date.now();
      },
      clock: function (_n, tz) {
        var zone = tz || "UTC";
        if (!formatters[zone]) {
          formatters[zone] = new Intl.DateTimeFormat("en-CA", {
            timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
            hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
          });
        }
        var parts = {};
        formatters[zone].formatToParts(new Date()).forEach(function (p) {
          parts[p.type] = p.value;
        });
        var hour = parts.hour === "24" ? "00" : parts.hour;
        return parts.year + "-" + parts.month + "-" + parts.day + " " + hour + ":" + parts.minute + ":" + parts.second;
      },
      syncUrl: function (view, lang) {
        if (!view) {
          return window.dash_clientside.no_update;
        }
        var q = [];
        ["county", "township", "cell", "level"].forEach(function (k) {
          if (view[k]) {
            q.push(k + "=" + encodeURIComponent(view[k]));
          }
        });
        if (view.metric && view.metric !== "all") {
          q.push("metric=" + view.metric);
        }
        if (view.window && view.window !== "24h") {
          q.push("window=" + view.window);
        }
        if (view.tour) {
          q.push("tour=" + view.tour);
        }
        if (view.channel) {
          q.push("channel=" + encodeURIComponent(view.channel));
        }
        if (lang) {
          q.push("lang=" + lang);
        }
        var url = window.location.pathname + (q.length ? "?" + q.join("&") : "");
        if (url !== window.location.pathname + window.location.search) {
          window.history.replaceState(window.history.state, "", url);
        }
        return url;
      },
    },
  });
})();
