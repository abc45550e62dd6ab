// Gradient Flow Lab: a plotly graph that stays mounted and is redrawn in place.
//
// Streamlit calls the default export on mount and again, on the same parentElement, each time
// the Python side sends new data for the same key. We keep one graph <div> per instance and
// redraw it with Plotly.react, at most once per animation frame (so a hidden tab does no work and
// a burst of updates costs one redraw).
// data = {fig: JSON string, height, config, src, rev, name, priority, live}.

const LOADS = (window.__gflPlotlyLoads = window.__gflPlotlyLoads || {});

function loadPlotly(src) {
  if (window.Plotly && window.Plotly.react) return Promise.resolve(window.Plotly);
  if (!LOADS[src]) {
    LOADS[src] = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.js did not define Plotly")));
      s.onerror = () => {
        delete LOADS[src];
        reject(new Error("cannot load " + src));
      };
      document.head.appendChild(s);
    });
  }
  return LOADS[src];
}

const CARTESIAN = new Set(["scatter", "scattergl", "heatmap", "bar", "histogram", "contour", "box"]);

function rgba(color, alpha) {
  const m = String(color).match(/[\d.]+/g);
  return m && m.length >= 3 ? `rgba(${m[0]},${m[1]},${m[2]},${alpha})` : color;
}

// The page's own colours and font (light or dark theme), applied where the spec sets nothing.
function themed(fig, el, rev) {
  const cs = getComputedStyle(el);
  const ink = cs.color || "rgb(49, 51, 63)";
  const L = Object.assign({}, fig.layout || {});
  L.font = Object.assign({ family: cs.fontFamily, size: 12, color: ink }, L.font || {});
  if (L.paper_bgcolor === undefined) L.paper_bgcolor = "rgba(0,0,0,0)";
  if (L.plot_bgcolor === undefined) L.plot_bgcolor = "rgba(0,0,0,0)";
  // ticklabeloverflow "allow": plotly's default ("hide past div") measures every tick label
  // again after each one is placed (quadratic in labels, a forced layout each time).
  const axis = { gridcolor: rgba(ink, 0.12), zerolinecolor: rgba(ink, 0.3), linecolor: rgba(ink, 0.3),
                 ticklabeloverflow: "allow", automargin: true };
  const names = Object.keys(L).filter((k) => /^[xy]axis\d*$/.test(k));
  if ((fig.data || []).some((t) => !t.type || CARTESIAN.has(t.type))) {
    for (const n of ["xaxis", "yaxis"]) if (!names.includes(n)) names.push(n);
  }
  for (const n of names) L[n] = Object.assign({}, axis, L[n] || {});
  L.hoverlabel = Object.assign({ font: { family: cs.fontFamily } }, L.hoverlabel || {});
  if (L.uirevision === undefined) L.uirevision = rev; // keeps the user's zoom while data streams in
  return L;
}

function message(div, text) {
  div.textContent = text;
  div.style.color = "#d62728";
}

// Streaming graphs (data.live) share one budget: together they use at most SHARE of the page's
// main thread. After such a redraw took c ms, the next one waits c * (1/SHARE - 1) ms. Graphs with
// new data queue up, oldest first, and a graph's queued data is replaced by newer data (the newest
// wins). So on a slow machine the charts refresh less often instead of starving the page and,
// when the browser shares the CPU with training, the training thread. Two kinds skip the wait:
// the priority graph (the Lab's gradient-vs-depth chart, drawn at every refresh), a graph's first
// drawing (right after Train every chart appears at once) and figures that do not stream (a
// finished run, a static chart).
const SHARE = 0.2;
const Q = (window.__gflQueue = window.__gflQueue || { waiting: [], timer: 0, frame: 0, next: 0 });

function urgent(div) {
  const n = div.__gfl.next;
  return !n || !n.live || n.priority || !div.data; // a graph's first drawing does not wait either
}

// Queue order: the priority graph, then other urgent ones, then the budgeted ones, each in order
// of arrival.
function rank(div) {
  const n = div.__gfl.next;
  return n && n.priority ? 0 : urgent(div) ? 1 : 2;
}

function schedule(Plotly, div) {
  const at = Q.waiting.indexOf(div);
  // A graph already waiting keeps its place, unless its new data no longer waits for the budget
  // (e.g. the final figure of a finished run): then it moves up to its new rank.
  if (at >= 0 && urgent(div)) Q.waiting.splice(at, 1);
  if (at < 0 || urgent(div)) {
    const r = rank(div);
    const i = Q.waiting.findIndex((d) => rank(d) > r);
    Q.waiting.splice(i < 0 ? Q.waiting.length : i, 0, div);
  }
  if (urgent(div) && Q.timer) { // do not sit out another graph's budget wait
    clearTimeout(Q.timer);
    Q.timer = 0;
  }
  pump(Plotly);
}

function pump(Plotly) {
  if (Q.timer || Q.frame || !Q.waiting.length) return;
  const wait = urgent(Q.waiting[0]) ? 0 : Math.max(0, Q.next - performance.now());
  Q.timer = setTimeout(() => {
    Q.timer = 0;
    Q.frame = requestAnimationFrame(() => {
      Q.frame = 0;
      const div = Q.waiting.shift();
      const budgeted = div && !urgent(div);
      const cost = div ? draw(Plotly, div, div.__gfl) : 0;
      if (budgeted) Q.next = performance.now() + cost * (1 / SHARE - 1);
      pump(Plotly);
    });
  }, wait);
}

function draw(Plotly, div, state) {
  const n = state.next;
  state.next = null;
  if (!n || !div.isConnected) return 0;
  const t0 = performance.now();
  let fig;
  try {
    fig = JSON.parse(n.fig); // parsed only when drawn: replaced updates cost nothing
  } catch (e) {
    message(div, "chart data could not be read: " + e);
    return 0;
  }
  Plotly.react(div, fig.data || [], themed(fig, div, n.rev), n.config);
  state.shown = n.fig;
  state.rev = n.rev;
  const cost = performance.now() - t0;
  const stats = (window.__gflStats = window.__gflStats || {});
  const s = (stats[n.name] = stats[n.name] || { draws: 0, ms: 0 });
  s.draws += 1;
  s.ms += cost;
  if (!state.observer && window.ResizeObserver) {
    let pending = 0;
    state.observer = new ResizeObserver(() => {
      if (!pending) pending = requestAnimationFrame(() => {
        pending = 0;
        if (div.isConnected && div.data) Plotly.Plots.resize(div);
      });
    });
    state.observer.observe(div);
  }
  return cost;
}

export default function (component) {
  const { data, parentElement } = component;
  let div = parentElement.querySelector(":scope > div.gfl-live");
  if (!div) {
    div = document.createElement("div");
    div.className = "gfl-live";
    div.style.width = "100%";
    parentElement.appendChild(div);
    window.__gflMounts = (window.__gflMounts || 0) + 1;
  }
  window.__gflCalls = (window.__gflCalls || 0) + 1;
  const height = data.height;
  if (height) {
    // A fixed box with CSS containment: the graph's redraws (and plotly's text measurements)
    // then lay out only this box, not the whole page.
    div.style.height = height + "px";
    div.style.contain = "strict";
  }
  const state = (div.__gfl = div.__gfl || { next: null, observer: null });
  // Streamlit calls this before every update and on unmount: only a removed graph is torn down.
  const cleanup = () => setTimeout(() => {
    if (div.isConnected) return;
    if (state.observer) state.observer.disconnect();
    const i = Q.waiting.indexOf(div);
    if (i >= 0) Q.waiting.splice(i, 1);
    if (window.Plotly) window.Plotly.purge(div);
  }, 0);
  if (data.fig === state.shown && data.rev === state.rev) return cleanup; // nothing new to draw
  state.next = { fig: data.fig, config: data.config || {}, rev: data.rev || "", name: data.name,
                 live: !!data.live, priority: !!data.priority };
  loadPlotly(data.src).then(
    (Plotly) => schedule(Plotly, div),
    (err) => message(div, String(err)),
  );
  return cleanup;
}
