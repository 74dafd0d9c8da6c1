// Samnav console: draws the system map (/systems) with Cytoscape.js from
// the JSON the page carries. The tables on the page hold the same map;
// without JavaScript (or without the library) the box stays empty and the
// tables are the map.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("systems-graph");
    var data = document.getElementById("systems-graph-data");
    if (!box || !data || typeof window.cytoscape !== "function") { return; }
    var graph;
    try { graph = JSON.parse(data.textContent); } catch (e) { return; }

    // Three columns: masters left, the hub in the middle, receivers right
    // (a system that does both sits left, so its arrows still run left to
    // right through the hub); systems with no flow below the hub.
    var columns = { master: [], both: [], hub: [], subscriber: [], none: [] };
    graph.nodes.forEach(function (n) { (columns[n.role] || columns.none).push(n); });
    var left = columns.master.concat(columns.both);
    var x = { left: 0, hub: 420, right: 840 };
    var gap = 110;
    var place = function (list, cx, pos) {
      var top = -((list.length - 1) * gap) / 2;
      list.forEach(function (n, i) { pos[n.id] = { x: cx, y: top + i * gap }; });
    };
    var pos = {};
    place(left, x.left, pos);
    place(columns.subscriber, x.right, pos);
    place(columns.hub, x.hub, pos);
    columns.none.forEach(function (n, i) { pos[n.id] = { x: x.hub, y: 160 + i * gap }; });

    var elements = [];
    graph.nodes.forEach(function (n) {
      elements.push({ data: { id: n.id, label: n.label + "\n" + n.owner, role: n.role }, position: pos[n.id] });
    });
    graph.edges.forEach(function (e) {
      elements.push({ data: { id: e.id, source: e.source, target: e.target, label: e.label, kind: e.kind } });
    });
    window.cytoscape({
      container: box,
      elements: elements,
      layout: { name: "preset", fit: true, padding: 30 },
      wheelSensitivity: 0.3,
      style: [
        { selector: "node", style: {
          "shape": "round-rectangle", "width": 230, "height": 62,
          "background-color": "#ffffff", "border-width": 2, "border-color": "#1f4e79",
          "label": "data(label)", "text-wrap": "wrap", "text-max-width": 220,
          "text-valign": "center", "text-halign": "center",
          "font-size": 12, "color": "#1a1a1a" } },
        { selector: "node[role = 'hub']", style: {
          "background-color": "#1f4e79", "color": "#ffffff", "border-color": "#1f4e79", "font-weight": "bold" } },
        { selector: "edge", style: {
          "width": 2, "curve-style": "bezier", "target-arrow-shape": "triangle",
          "line-color": "#4a4a4a", "target-arrow-color": "#4a4a4a",
          "label": "data(label)", "font-size": 11, "color": "#1a1a1a",
          "text-background-color": "#ffffff", "text-background-opacity": 1, "text-background-padding": 2 } },
        { selector: "edge[kind = 'subscription']", style: {
          "line-color": "#1f6f3f", "target-arrow-color": "#1f6f3f", "line-style": "solid" } },
        { selector: "edge[kind = 'master']", style: { "line-style": "dashed" } }
      ]
    });
  });
})();
