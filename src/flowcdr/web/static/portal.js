// flowcdr portal: charts from the JSON the server rendered, and the few interactions forms need.
// No inline scripts anywhere (the Content-Security-Policy forbids them); htmx.onLoad runs this
// for the page and again for every panel htmx swaps in.
(function () {
  "use strict";

  var COLORS = { allowed: "#2f9e6e", denied: "#d6453d", bytes: "#2f5bea", series: "#7b61ff" };

  function humanBytes(v) {
    if (v == null) return "";
    var units = ["B", "KB", "MB", "GB", "TB", "PB"], i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i ? v.toFixed(1) : Math.round(v)) + " " + units[i];
  }

  function humanCount(v) {
    if (v == null) return "";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + " M";
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + " k";
    return String(Math.round(v));
  }

  function size(el, height) {
    return { width: Math.max(el.clientWidth, 240), height: height };
  }

  function timeChart(el, data) {
    var flows = el.dataset.chart === "flows";
    var series = [{}];
    var values = [data.times];
    if (flows) {
      // Stacked: the denied band sits on top of the allowed one.
      var total = data.allowed.map(function (a, i) { return a + data.denied[i]; });
      series.push({ label: "Denied", stroke: COLORS.denied, fill: COLORS.denied + "33", width: 1.5,
                    value: function (u, v, s, i) { return i == null ? "" : humanCount(data.denied[i]); } });
      series.push({ label: "Allowed", stroke: COLORS.allowed, fill: COLORS.allowed + "40", width: 1.5,
                    value: function (u, v) { return humanCount(v); } });
      values.push(total, data.allowed);
    } else {
      series.push({ label: "Bytes", stroke: COLORS.bytes, fill: COLORS.bytes + "26", width: 1.5,
                    value: function (u, v) { return humanBytes(v); } });
      values.push(data.bytes);
    }
    var opts = Object.assign(size(el, 220), {
      series: series,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      axes: [{}, { size: 60, values: function (u, ticks) { return ticks.map(flows ? humanCount : humanBytes); } }],
      cursor: { drag: { x: true, y: false } },
      hooks: flows && el.dataset.href ? { setSelect: [function (u) {
        // Dragging over the chart opens those minutes as flows.
        if (u.select.width < 4) return;
        var from = u.posToVal(u.select.left, "x"), to = u.posToVal(u.select.left + u.select.width, "x");
        var iso = function (t) { return new Date(t * 1e3).toISOString().slice(0, 16); };
        window.location = "/portal/flows?range=custom&start=" + iso(from) + "&end=" + iso(to);
      }] } : {}
    });
    return new uPlot(opts, values, el);
  }

  function sparkChart(el, data) {
    var xs = data.map(function (_, i) { return i; });
    var opts = Object.assign(size(el, 90), {
      series: [{}, { label: "value", stroke: COLORS.series, width: 1.5, points: { show: true, size: 4 } }],
      scales: { x: { time: false } },
      axes: [{ show: false }, { size: 50 }],
      legend: { show: false }
    });
    return new uPlot(opts, [xs, data], el);
  }

  function drawCharts(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = el.querySelector("script[type='application/json']");
      if (!source || typeof uPlot === "undefined") return;
      var data = JSON.parse(source.textContent);
      var plot = el.dataset.chart === "series" ? sparkChart(el, data) : timeChart(el, data);
      el.dataset.drawn = "1";
      el.dataset.points = String(plot.data[0].length);
      new ResizeObserver(function () {
        plot.setSize(size(el, plot.height));
      }).observe(el);
    });
  }

  function wireForms(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.querySelector(button.dataset.copy);
        var text = target ? target.textContent.trim() : "";
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(target); });
        } else {
          select(target);
          document.execCommand("copy") && done();
        }
      });
    });
    root.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirm)) event.preventDefault();
      });
    });
    root.querySelectorAll(".toggle").forEach(function (button) {
      button.addEventListener("click", function () {
        var detail = button.closest("tr").nextElementSibling;
        var open = detail.hidden;
        detail.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        button.textContent = open ? "▾" : "▸";
      });
    });
    var add = root.querySelector("#add-bucket");
    if (add) {
      add.addEventListener("click", function () {
        var template = document.getElementById("bucket-template");
        var row = template.content.firstElementChild.cloneNode(true);
        document.getElementById("bucket-rows").appendChild(row);
        wireRemove(row);
        row.querySelector("input").focus();
      });
      root.querySelectorAll(".bucket-row").forEach(wireRemove);
    }
  }

  function wireRemove(row) {
    var button = row.querySelector(".remove-bucket");
    if (button) button.addEventListener("click", function () { row.remove(); });
  }

  function select(target) {
    if (!target) return;
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // A panel whose request failed says so instead of loading forever.
  document.addEventListener("htmx:responseError", function (event) {
    var panel = event.detail.elt;
    var status = event.detail.xhr.status;
    var title = panel.querySelector("h2");
    panel.innerHTML = "";
    if (title) panel.appendChild(title);
    var note = document.createElement("p");
    note.className = "empty";
    note.textContent = "Could not load this panel (HTTP " + status + "). Reload to try again.";
    panel.appendChild(note);
  });

  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(function (el) {
      drawCharts(el);
      if (el === document.body) wireForms(el);
    });
  });
})();
