/* OneGrid wall: clientside functions (no server round trip) and the HTML area-name layer.
 *
 * applyDiff: applies a refresh's changed values to the map as a dash_clientside.Patch of z.
 * setLabels: area names drawn as HTML over the MapLibre map (MapLibre text would need a glyphs
 *            URL; an air-gapped wall has none), and fitting the map to the area of a new view.
 * clock:     the city's local time, every second, in the city's time zone.
 * syncUrl:   the address bar always reproduces the view shown.
 * Screens larger than 1920 px (a 4K wall): plotly sizes its text in pixels, so the wall's charts
 * are scaled to the screen (scaleCharts); area names never overlap (placeLabels); the map is
 * fitted above the legend, so the legend never hides a cell.
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
    placeLabels(map, items, layer.children);
  }

  function overlaps(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }

  // each name at its area's point; a name that would overlap one already placed moves just
  // above or below it, and is hidden when neither is free (dense urban districts at city level)
  function placeLabels(map, items, nodes) {
    var placed = [];
    for (var i = 0; i < items.length; i++) {
      var node = nodes[i];
      var p = map.project([items[i].x, items[i].y]);
      var w = node.offsetWidth, h = node.offsetHeight, gap = 2;
      var tries = [0, -(h + gap), h + gap, -2 * (h + gap), 2 * (h + gap)];
      var box = null;
      for (var k = 0; k < tries.length && !box; k++) {
        var cand = { x: p.x - w / 2, y: p.y - h / 2 + tries[k], w: w, h: h };
        if (!placed.some(function (b) { return overlaps(cand, b); })) {
          box = cand;
        }
      }
      node.style.visibility = box ? "" : "hidden";
      node.classList.toggle("og-label-hidden", !box);
      if (box) {
        placed.push(box);
        node.style.transform = "translate(" + box.x + "px," + box.y + "px)";
      }
    }
  }

  // plotly's text and heights are in pixels: on a screen wider than the 1920 px design width,
  // every size of the wall's charts (not the map) is multiplied by width / 1920
  var scaledFor = new WeakMap();
  function scaleFont(font, path, k, out) {
    out[path + ".size"] = ((font && font.size) || 12) * k;
  }
  function scaleChart(gd, k) {
    var layout = gd.layout;
    if (!layout || scaledFor.get(layout) === k) {
      return;
    }
    scaledFor.set(layout, k);
    if (k === 1) {
      return;
    }
    var rel = {};
    scaleFont(layout.font, "font", k, rel);
    if (layout.title && typeof layout.title === "object" && layout.title.font) {
      scaleFont(layout.title.font, "title.font", k, rel);
    }
    if (layout.height) {
      rel.height = layout.height * k;
    }
    ["l", "r", "t", "b"].forEach(function (side) {
      if (layout.margin && typeof layout.margin[side] === "number") {
        rel["margin." + side] = layout.margin[side] * k;
      }
    });
    var res = {}, idx = [];
    (gd.data || []).forEach(function (trace, i) {
      ["number", "title", "delta"].forEach(function (part) {
        if (trace[part] && trace[part].font && trace[part].font.size) {
          res[part + ".font.size"] = res[part + ".font.size"] || [];
          res[part + ".font.size"][i] = trace[part].font.size * k;
          idx.push(i);
        }
      });
    });
    window.Plotly.relayout(gd, rel);
    if (idx.length) {
      window.Plotly.restyle(gd, res);
    }
  }
  function scaleCharts() {
    if (!window.Plotly) {
      return;
    }
    var k = Math.max(1, window.innerWidth / 1920);
    document.querySelectorAll(".og-wall .js-plotly-plot").forEach(function (gd) {
      if (!gd.closest("#cell-map")) {
        scaleChart(gd, k);
      }
    });
  }
  setInterval(scaleCharts, 500);

  // the legend lies over the map's lower left corner: fit the view above it
  function fitPadding() {
    var pad = { top: 28, right: 28, bottom: 28, left: 28 };
    var box = document.querySelector("#cell-map");
    var legend = document.getElementById("legend");
    if (box && legend && legend.offsetHeight) {
      var m = box.getBoundingClientRect(), g = legend.getBoundingClientRect();
      pad.bottom = Math.max(pad.bottom, Math.round(m.bottom - g.top) + 12);
    }
    return pad;
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
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: fitPadding(), animate: false },
                    { originalEvent: { type: "fit" } });
      state.fitted = state.labels.sig;
      var layer = document.getElementById("map-label-layer");
      if (layer) {
        layer.dataset.fitted = state.fitted; // tests wait for this before clicking the map
        layer.dataset.bounds = JSON.stringify(b); // and read where the view's areas lie
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
        // a past period and the replay's slider position (layouts/wall.py view_query)
        ["since", "until", "at"].forEach(function (k) {
          if (view[k] !== null && view[k] !== undefined && view[k] !== "") {
            q.push(k + "=" + encodeURIComponent(String(view[k])).replace(/%3A/g, ":"));
          }
        });
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
