// costcalc view: draws the document costcalc wrote (the #view-data script). Every figure, colour bin, share and
// text comes from that document; this script only lays the visible nodes out with dagre and draws them.
(function () {
  "use strict";
  var first = JSON.parse(document.getElementById("view-data").textContent);
  var sides = first.compare ? [first, first.compare.other] : [first];  // side A, and B when compared
  var doc, nodes, children, inputs, open;  // the side drawn
  var state = { side: 0, metric: first.metric, selected: null, scale: 1, depth: first.open_depth };
  var svg = document.getElementById("svg");

  function use(k) {
    state.side = k;
    doc = sides[k];
    nodes = doc.nodes;
    children = nodes.map(function () { return []; });
    nodes.forEach(function (n) { if (n.parent !== null) children[n.parent].push(n.id); });
    inputs = nodes.map(function () { return []; });
    doc.edges.forEach(function (e) { inputs[e[1]].push(nodes[e[0]].name); });
    open = new Uint8Array(nodes.length);  // 1: a block drawn open, its children in its place
  }

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function openToDepth(depth) {
    state.depth = depth;
    for (var i = 0; i < nodes.length; i++) open[i] = nodes[i].kind === "block" && nodes[i].depth < depth ? 1 : 0;
  }

  // shown[i]: the node that stands for node i on the page (itself, or the collapsed block that holds it)
  function shownNodes() {
    var shown = new Int32Array(nodes.length);
    for (var i = 0; i < nodes.length; i++) {  // tree order: a block comes before what it holds
      var p = nodes[i].parent;
      if (p === null) shown[i] = i;
      else if (shown[p] !== p) shown[i] = shown[p];
      else shown[i] = open[p] ? i : p;
    }
    return shown;
  }

  function layout() {
    var started = performance.now();
    var shown = shownNodes();
    var visible = [], clusters = [];
    for (var i = 0; i < nodes.length; i++) {
      if (shown[i] !== i) continue;
      if (nodes[i].kind === "block" && open[i]) clusters.push(i); else visible.push(i);
    }
    // open blocks are boxes around their children while the graph is small (dagre's compound layout is several
    // times slower); past doc.layout.compound_max nodes they are left out and only their children drawn
    var status = document.getElementById("status");
    if (visible.length > doc.layout.max_nodes) {  // dagre takes seconds past this, and overflows its stack later
      status.textContent = visible.length.toLocaleString("en") + " nodes: more than the " +
        doc.layout.max_nodes.toLocaleString("en") + " this page lays out; open fewer blocks";
      return false;
    }
    status.textContent = "";
    var compound = visible.length + clusters.length <= doc.layout.compound_max;
    var g = new dagre.graphlib.Graph({ compound: compound });
    var options = {};
    for (var key in doc.layout) if (["node_height", "compound_max", "large_ranker", "max_nodes"].indexOf(key) < 0) options[key] = doc.layout[key];
    if (!compound) options.ranker = doc.layout.large_ranker;
    g.setGraph(options);
    g.setDefaultEdgeLabel(function () { return {}; });
    if (!compound) clusters = [];
    clusters.forEach(function (c) { g.setNode("c" + c, {}); });
    visible.forEach(function (v) { g.setNode("n" + v, { width: nodes[v].width, height: doc.layout.node_height }); });
    if (compound) {
      clusters.concat(visible).forEach(function (k) {
        var p = nodes[k].parent;
        if (p !== null) g.setParent((open[k] && nodes[k].kind === "block" ? "c" : "n") + k, "c" + p);
      });
    }
    var seen = new Set(), edges = [];
    doc.edges.forEach(function (e) {
      var a = shown[e[0]], b = shown[e[1]];
      if (a === b) return;
      var k = a + ">" + b;
      if (seen.has(k)) return;
      seen.add(k);
      edges.push([a, b]);
      g.setEdge("n" + a, "n" + b);
    });
    dagre.layout(g);
    draw(g, visible, clusters, edges);
    table(visible);
    window.costcalcView = { nodes: visible.length, clusters: clusters.length, edges: edges.length,
                            renderMs: performance.now() - started, depth: state.depth, side: state.side };
    document.body.setAttribute("data-rendered", String(visible.length));
    return true;
  }

  // change the open blocks and draw them; past max_nodes the page keeps what it showed
  function reopen(change) {
    var before = open.slice(), depth = state.depth;
    change();
    if (layout()) return true;
    open = before;
    state.depth = depth;
    return false;
  }

  function swatch(n) {  // the legend entry of node n's bin under the chosen metric, or null
    var bin = n.bins[state.metric];
    return bin === null || bin === undefined ? null : doc.metrics[state.metric].legend[bin];
  }

  function draw(g, visible, clusters, edges) {
    var size = g.graph();
    var parts = ['<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" ' +
                 'orient="auto"><path d="M0,0L8,4L0,8z"/></marker></defs>'];
    clusters.forEach(function (i) {
      var c = g.node("c" + i), n = nodes[i];
      parts.push('<g class="cluster" data-id="' + i + '"><title>' + esc(n.name + " (" + n.op + "): double-click to close") +
                 '</title><rect x="' + (c.x - c.width / 2) + '" y="' + (c.y - c.height / 2) + '" width="' + c.width +
                 '" height="' + c.height + '" rx="6"/><text x="' + (c.x - c.width / 2 + 6) + '" y="' +
                 (c.y - c.height / 2 - 3) + '">' + esc(n.label + " \u00b7 " + n.op) + '</text></g>');
    });
    edges.forEach(function (e) {
      var points = g.edge("n" + e[0], "n" + e[1]).points;
      var d = "M" + points.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); }).join("L");
      parts.push('<path class="edge" data-from="' + e[0] + '" data-to="' + e[1] + '" d="' + d +
                 '" marker-end="url(#arrow)"/>');
    });
    var h = doc.layout.node_height;
    visible.forEach(function (i) {
      var p = g.node("n" + i), n = nodes[i], entry = swatch(n);
      var classes = "node " + n.kind + (n.inside ? " violates" : "") + (state.selected === i ? " selected" : "") +
                    (entry && entry.dark ? " dark" : "");
      var bar = n.bars[state.metric];
      var badge = "";
      if (n.inside) {
        var own = (n.violations || []).map(function (v) { return doc.findings[doc.violations[v][1]].guideline; });
        badge = own.length && n.kind === "layer" ? Array.from(new Set(own)).join(" ") : n.inside + " \u26a0";
      }
      parts.push('<g class="' + classes + '" data-id="' + i + '" transform="translate(' + (p.x - n.width / 2) + "," +
                 (p.y - h / 2) + ')"><title>' + esc(n.name + "\n" + n.op + (n.kind === "block" ?
                 "\ndouble-click to open" : "")) + '</title><rect class="box" width="' + n.width + '" height="' + h +
                 '" rx="4" fill="' + (entry ? entry.color : doc.no_value) + '"/>' +
                 (bar ? '<rect class="bar" x="1" y="' + (h - 4) + '" height="3" width="' +
                  Math.max(1, (n.width - 2) * bar).toFixed(1) + '"/>' : "") +
                 '<text class="name" x="7" y="14">' + esc(n.label) + '</text><text class="op" x="7" y="27">' +
                 esc(n.op) + "</text>" +
                 (badge ? '<text class="badge" text-anchor="end" x="' + (n.width - 4) + '" y="11">' + esc(badge) +
                  "</text>" : "") + "</g>");
    });
    svg.innerHTML = parts.join("");
    svg.dataset.width = size.width;
    svg.dataset.height = size.height;
    svg.setAttribute("viewBox", "0 0 " + size.width + " " + size.height);
    zoom(state.scale);
  }

  function zoom(scale) {
    state.scale = scale;
    svg.setAttribute("width", Math.ceil(svg.dataset.width * scale));
    svg.setAttribute("height", Math.ceil(svg.dataset.height * scale));
  }

  function cells(n) { return [n.name].concat(doc.records[n.record].cells); }

  function table(visible) {
    var text = { Layer: 1, Op: 1, Output: 1, Guidelines: 1 };
    function cell(tag, c, k) { return "<" + tag + (text[doc.columns[k]] ? "" : ' class="num"') + ">" + esc(c) + "</" + tag + ">"; }
    var head = "<tr>" + doc.columns.map(function (c, k) { return cell("th", c, k); }).join("") + "</tr>";
    var rows = visible.filter(function (i) { return nodes[i].record !== undefined; }).map(function (i) {
      return '<tr class="row' + (state.selected === i ? " selected" : "") + '" data-id="' + i + '">' +
        cells(nodes[i]).map(function (c, k) { return cell("td", c, k); }).join("") + "</tr>";
    });
    var foot = "<tr>" + doc.footer.map(function (c, k) { return cell("td", c, k); }).join("") + "</tr>";
    document.getElementById("table").innerHTML = "<h2>The report's table (the rows drawn)</h2><table><thead>" + head +
      "</thead><tbody>" + rows.join("") + "</tbody><tfoot>" + foot + "</tfoot></table>";
  }

  // what the details panel lists: the node's row of the table, then its record's figures, and what it reads
  function details(n) {
    var out = n.details || [];
    if (n.record !== undefined) {
      var record = doc.records[n.record];
      out = [["name", n.name]];
      doc.columns.forEach(function (title, k) { if (k > 0) out.push([title, record.cells[k - 1]]); });
      out = out.concat(record.details);
      if (n.kind === "layer") out.splice(doc.columns.length + 1, 0, ["inputs", inputs[n.id].join(", ")]);
      if (n.module) out.push(["module path (imported)", n.module]);
      if (n.fused_into) out.push(["latency (estimate)", "fused into " + n.fused_into]);
      if (n.measured_fused_into) out.push(["measured", "fused into " + n.measured_fused_into]);
    }
    if (doc.compare) {
      var partner = doc.compare.partner[n.id], other = sides[1 - state.side];
      if (partner !== null) out = out.concat([["counterpart in " + (state.side ? "A" : "B"), other.nodes[partner].name]]);
      out = out.concat(doc.compare.deltas[n.id]);
    }
    return out;
  }

  function pairs(list) {
    return "<table>" + list.map(function (p) { return "<tr><th>" + esc(p[0]) + "</th><td>" + esc(p[1]) + "</td></tr>"; }).join("") + "</table>";
  }

  function select(i) {
    state.selected = i;
    document.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
    var el = svg.querySelector('[data-id="' + shownNodes()[i] + '"]');
    if (el) el.classList.add("selected");
    var row = document.querySelector('#table tr[data-id="' + i + '"]');
    if (row) row.classList.add("selected");
    totals();
    var n = nodes[i];
    var html = "<h2>" + esc(n.name) + "</h2>" + pairs(details(n));
    var found = [];
    (function collect(k) {
      (nodes[k].violations || []).forEach(function (v) { found.push(v); });
      if (nodes[k].inside) children[k].forEach(collect);
    })(i);
    if (found.length) {
      html += "<h2>Guideline violations (" + found.length + ")</h2>" + found.slice(0, 50).map(function (v) {
        var f = doc.findings[doc.violations[v][1]], where = f.where || nodes[doc.violations[v][0]].name;
        return '<div class="violation"><b>' + esc(f.guideline) + "</b> " + esc(f.title) + " at " + esc(where) +
          '<br><span class="evidence">' + esc(f.evidence) + "</span>" + (f.latency ? "<br>costs " + esc(f.latency) : "") +
          "<br><i>" + esc(f.why) + "</i></div>";
      }).join("") + (found.length > 50 ? "<p>... and " + (found.length - 50) + " more</p>" : "");
    }
    if (n.kind === "block") html += '<p><button type="button" id="toggle">' + (open[i] ? "close" : "open") + " this block</button></p>";
    if (n.parent !== null) html += '<p><button type="button" id="close-parent">close ' + esc(nodes[n.parent].name) + "</button></p>";
    document.getElementById("details").innerHTML = html;
    var toggle = document.getElementById("toggle");
    if (toggle) toggle.onclick = function () { setOpen(i, !open[i]); };
    var up = document.getElementById("close-parent");
    if (up) up.onclick = function () { setOpen(n.parent, false); };
    if (row && row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
  }

  function setOpen(i, value) {
    reopen(function () {
      open[i] = value ? 1 : 0;
      if (!value) (function shut(k) { children[k].forEach(function (c) { open[c] = 0; shut(c); }); })(i);
    });
    select(i);
  }

  function legend() {
    var m = doc.metrics[state.metric];
    document.getElementById("legend").innerHTML = "<b>" + esc(m.label) + "</b>" + m.legend.map(function (entry) {
      return '<span><span class="swatch" style="background:' + entry.color + '"></span>' + esc(entry.label) + "</span>";
    }).join("") + '<span><span class="swatch" style="background:' + doc.no_value + '"></span>' +
      (m.kind === "delta" ? "no counterpart" : "none") + "</span>" +
      (m.additive ? "<span>bar under a node: its share of its block</span>" : "") +
      '<span><span class="swatch" style="background:#fff;border:2px solid #d00000"></span>breaks a guideline</span>';
  }

  function totals() {
    var lines = doc.totals_text.concat(first.compare ? first.compare.totals : []);
    var n = state.selected !== null ? nodes[state.selected] : null;
    if (n && n.record !== undefined) {  // the selection's share of the totals: its cells of the report's table
      var cells = doc.records[n.record].cells;
      lines = lines.concat([["selected", n.name]], doc.columns.slice(3).map(function (title, k) {
        return [title, cells[k + 2]];
      }).filter(function (p) { return /%|FLOPs|MAC|Params|Latency/.test(p[0]); }));
    }
    document.getElementById("totals").innerHTML = "<h2>Totals" + (first.compare ? " of " + (state.side ? "B" : "A") : "") +
      "</h2>" + pairs(lines);
    document.getElementById("title").textContent = doc.header;
  }

  function switchSide(k) {
    var partner = state.selected !== null && doc.compare ? doc.compare.partner[state.selected] : null;
    var key = doc.metrics[state.metric].key;
    use(k);
    state.selected = null;
    // the sides have the same metrics but the measured time, which only A has: keep the key, else the first
    state.metric = Math.max(0, doc.metrics.map(function (m) { return m.key; }).indexOf(key));
    metricChoice();
    depthButtons();
    totals();
    legend();
    if (!reopen(function () { openToDepth(Math.min(state.depth, doc.max_depth)); })) {
      openToDepth(doc.open_depth);
      layout();
    }
    marks();
    document.querySelectorAll("#sides button").forEach(function (b) { b.classList.toggle("on", Number(b.dataset.side) === k); });
    if (partner !== null) select(partner);
  }

  function depthButtons() {
    var buttons = ["depth:"];
    for (var d = 1; d <= doc.max_depth; d++) {
      var count = doc.nodes_at_depth[d - 1];
      buttons.push('<button type="button" data-depth="' + d + '" title="' + count.toLocaleString("en") + " nodes" +
                   (count > doc.layout.max_nodes ? ": too many to lay out" : "") + '">' + d + "</button>");
    }
    document.getElementById("depths").innerHTML = buttons.join("");
    marks();
  }

  function metricChoice() {
    var choice = document.getElementById("metric");
    choice.innerHTML = doc.metrics.map(function (m, k) { return '<option value="' + k + '">' + esc(m.label) + "</option>"; }).join("");
    choice.value = String(state.metric);
    choice.onchange = function () { state.metric = Number(choice.value); legend(); layout(); if (state.selected !== null) select(state.selected); };
  }

  function controls() {
    metricChoice();
    if (first.compare) {
      var labels = [first.compare.label_a, first.compare.label_b];
      document.getElementById("sides").innerHTML = "draw: " + labels.map(function (label, k) {
        return '<button type="button" data-side="' + k + '"' + (k === 0 ? ' class="on"' : "") + ">" + "AB"[k] + ": " + esc(label) + "</button>";
      }).join("");
      document.getElementById("sides").onclick = function (e) {
        var b = e.target.closest("button");
        if (b && Number(b.dataset.side) !== state.side) switchSide(Number(b.dataset.side));
      };
    }
    depthButtons();
    document.getElementById("depths").onclick = function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      reopen(function () { openToDepth(Number(b.dataset.depth)); });
      marks();
    };
    document.getElementById("zoom-in").onclick = function () { zoom(state.scale * 1.25); };
    document.getElementById("zoom-out").onclick = function () { zoom(state.scale / 1.25); };
    document.getElementById("zoom-fit").onclick = function () {
      zoom(Math.min(1, document.getElementById("graph").clientWidth / Number(svg.dataset.width)));
    };
    document.getElementById("notes").innerHTML = first.notes.map(function (t) { return "<p>" + esc(t) + "</p>"; }).join("");
    function pick(e) {
      var el = e.target.closest("[data-id]");
      return el ? Number(el.dataset.id) : null;
    }
    svg.addEventListener("click", function (e) { var i = pick(e); if (i !== null) select(i); });
    svg.addEventListener("dblclick", function (e) {
      var i = pick(e);
      if (i !== null && nodes[i].kind === "block") setOpen(i, !open[i]);
    });
    document.getElementById("table").addEventListener("click", function (e) { var i = pick(e); if (i !== null) select(i); });
  }

  function marks() {
    document.querySelectorAll("#depths button").forEach(function (b) {
      b.classList.toggle("on", Number(b.dataset.depth) === state.depth);
    });
  }

  use(0);
  controls();
  totals();
  legend();
  openToDepth(first.open_depth);
  marks();
  if (!layout()) {  // an --depth past max_nodes: open at the stages instead
    openToDepth(1);
    marks();
    layout();
  }
})();
