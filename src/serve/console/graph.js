// A bundle's graph as SVG: items in layers by their longest chain of `after`, each box
// coloured by its unit's state, the critical path drawn bold.
"use strict";

YJ.graph = (tasks, states, path) => {
  const { svg, t, STATE_CLASS } = YJ;
  states = states || {};
  const onPath = new Set(path || []);
  const byId = new Map(tasks.map((x) => [x.id, x]));
  const layer = new Map();
  const depth = (id, seen) => {
    if (layer.has(id)) return layer.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const task = byId.get(id);
    const d = task && task.after.length ? 1 + Math.max(...task.after.map((a) => depth(a, seen))) : 0;
    layer.set(id, d);
    return d;
  };
  tasks.forEach((x) => depth(x.id, new Set()));
  const columns = [];
  for (const x of tasks) (columns[layer.get(x.id)] ||= []).push(x);
  const W = 170, H = 54, GX = 60, GY = 22;
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((x, r) => pos.set(x.id, { x: 10 + c * (W + GX), y: 10 + r * (H + GY) })));
  const width = 20 + columns.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GY) - GY;
  const edges = [];
  for (const x of tasks) {
    for (const a of x.after) {
      const p = pos.get(a), q = pos.get(x.id);
      if (!p || !q) continue;
      const bold = onPath.has(a) && onPath.has(x.id);
      edges.push(svg("path", {
        d: `M${p.x + W},${p.y + H / 2} C${p.x + W + GX / 2},${p.y + H / 2} ${q.x - GX / 2},${q.y + H / 2} ${q.x},${q.y + H / 2}`,
        class: bold ? "edge path" : "edge", "marker-end": "url(#arrow)",
      }));
    }
  }
  const nodes = tasks.map((x) => {
    const p = pos.get(x.id);
    const st = states[x.id] || {};
    const cls = ["node", STATE_CLASS[st.status] || "s-none", onPath.has(x.id) ? "path" : "",
      st.warning && st.warning !== "green" ? `w-${st.warning}` : ""].join(" ");
    const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
    return svg("g", { class: cls, "data-task": x.id, "data-status": st.status || "", transform: `translate(${p.x},${p.y})` },
      svg("title", {}, `${x.title} · ${x.department}${st.status ? " · " + st.status : ""}`),
      svg("rect", { width: W, height: H, rx: 6 }),
      svg("text", { x: 8, y: 20, class: "title" }, clip(x.title, 11)),
      svg("text", { x: 8, y: 40, class: "sub" }, clip(`${x.department}${st.status ? " · " + t("s_" + st.status) : ""}`, 24)));
  });
  const defs = svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    svg("path", { d: "M0,0 L10,5 L0,10 z" })));
  return svg("svg", { class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" }, defs, edges, nodes);
};
