// Charts drawn as SVG with DOM APIs: a line chart (2FA adoption per day) and a bar chart
// (events per day). Each has a title and a description, and a table of the same numbers.

import { h, svg, uid } from "./dom.js";

const WIDTH = 640;
const HEIGHT = 240;
const PAD = { top: 16, right: 16, bottom: 36, left: 48 };

function scale(max) {
  const top = max <= 0 ? 1 : max;
  const step = 10 ** Math.floor(Math.log10(top));
  const rounded = Math.ceil(top / step) * step;
  // Counts are whole numbers: an even top keeps the middle tick whole (1 would label 0, 1, 1).
  const nice = rounded % 2 === 0 ? rounded : rounded + 1;
  return { top: nice, ticks: [0, nice / 2, nice] };
}

function frame(title, description, plot, ticks, top, labels) {
  const titleId = uid("chart-title");
  const descId = uid("chart-desc");
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const y = (value) => PAD.top + innerHeight - (value / top) * innerHeight;
  const axis = ticks.map((tick) => [
    svg("line", { class: "chart__grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick) }),
    svg("text", { class: "chart__tick", x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, String(Math.round(tick))),
  ]);
  const dayLabels = labels.map(([x, text]) =>
    svg("text", { class: "chart__tick", x, y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle" }, text),
  );
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": `${titleId} ${descId}` },
    svg("title", { id: titleId }, title),
    svg("desc", { id: descId }, description),
    axis,
    plot(y),
    dayLabels,
  );
}

function shortDay(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

function everyNth(days, x) {
  const step = Math.max(1, Math.ceil(days.length / 6));
  return days.map((day, index) => (index % step === 0 ? [x(index), shortDay(day)] : null)).filter(Boolean);
}

function dataTable(caption, headers, rows) {
  return h(
    "details",
    { class: "details" },
    h("summary", { class: "details__summary" }, `${caption}: show the numbers`),
    h(
      "table",
      { class: "table table--compact" },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", null, h("tr", null, headers.map((text) => h("th", { scope: "col", text })))),
      h("tbody", null, rows.map((row) => h("tr", null, row.map((cell) => h("td", { text: String(cell) }))))),
    ),
  );
}

// points: [{ day, enabled, enrolled }], oldest first.
export function adoptionChart(points) {
  const days = points.map((point) => point.day);
  const { top, ticks } = scale(Math.max(0, ...points.map((point) => point.enabled)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const x = (index) => PAD.left + (points.length <= 1 ? innerWidth / 2 : (index / (points.length - 1)) * innerWidth);
  const line = (key, className) => (y) =>
    svg("polyline", { class: className, fill: "none", points: points.map((point, index) => `${x(index)},${y(point[key])}`).join(" ") });
  const last = points[points.length - 1] || { enabled: 0, enrolled: 0 };
  const chart = frame(
    "Two-factor adoption per day",
    `Users with 2FA enabled and, of those, set up, over the last ${points.length} days. Today: ${last.enabled} enabled, ${last.enrolled} set up.`,
    (y) => [line("enabled", "chart__line chart__line--enabled")(y), line("enrolled", "chart__line chart__line--enrolled")(y)],
    ticks,
    top,
    everyNth(days, x),
  );
  return h(
    "figure",
    { class: "figure", "data-testid": "adoption-chart" },
    h("figcaption", { class: "figure__caption" }, "Two-factor adoption per day ",
      h("span", { class: "legend legend--enabled", text: "enabled" }), " ",
      h("span", { class: "legend legend--enrolled", text: "set up" })),
    chart,
    dataTable("Two-factor adoption per day", ["Day", "Enabled", "Set up"], points.map((point) => [point.day, point.enabled, point.enrolled])),
  );
}

// buckets: auditSummary rows (per day, action and outcome); drawn as total events per day.
export function eventsChart(buckets, days) {
  const totals = new Map(days.map((day) => [day, { success: 0, failure: 0 }]));
  for (const bucket of buckets) {
    const day = bucket.start.slice(0, 10);
    const entry = totals.get(day);
    if (!entry) continue;
    if (bucket.outcome === "FAILURE") entry.failure += bucket.count;
    else entry.success += bucket.count;
  }
  const rows = days.map((day) => [day, totals.get(day).success, totals.get(day).failure]);
  const { top, ticks } = scale(Math.max(0, ...rows.map(([, success, failure]) => success + failure)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const slot = innerWidth / Math.max(1, days.length);
  const x = (index) => PAD.left + slot * index + slot / 2;
  const total = rows.reduce((sum, [, success, failure]) => sum + success + failure, 0);
  const failures = rows.reduce((sum, [, , failure]) => sum + failure, 0);
  const chart = frame(
    "Audit events per day",
    `${total} events over the last ${days.length} days, ${failures} of them failures.`,
    (y) =>
      rows.map(([, success, failure], index) => {
        const left = PAD.left + slot * index + slot * 0.15;
        const width = slot * 0.7;
        return [
          svg("rect", { class: "chart__bar", x: left, width, y: y(success), height: y(0) - y(success) }),
          svg("rect", { class: "chart__bar chart__bar--failure", x: left, width, y: y(success + failure), height: y(success) - y(success + failure) }),
        ];
      }),
    ticks,
    top,
    everyNth(days, x),
  );
  return h(
    "figure",
    { class: "figure", "data-testid": "events-chart" },
    h("figcaption", { class: "figure__caption" }, "Audit events per day ",
      h("span", { class: "legend legend--success", text: "success" }), " ",
      h("span", { class: "legend legend--failure", text: "failure" })),
    chart,
    dataTable("Audit events per day", ["Day", "Success", "Failure"], rows),
  );
}
