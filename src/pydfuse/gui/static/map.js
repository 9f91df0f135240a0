// Memory maps: one bar per memory with coloured runs (protected, written, erased, free,
// conflict, gap) placed by the server, pins for check findings, and the same facts as text
// below the bar (so they read at any zoom and with a screen reader).
import { h, hex32, size } from "./util.js";

const SHOWN_KINDS = new Set(["conflict", "written", "erased", "protected", "gap"]);

function runText(run) {
  return `${hex32(run.start)}–${hex32(run.end - 1)} (${size(run.end - run.start)}): ${run.text}`;
}

function bar(view) {
  const kinds = [...new Set(view.runs.map((r) => r.kind))];
  const label = `${view.name}: ${kinds.join(", ")}` +
    (view.markers.length ? `; ${view.markers.length} finding(s)` : "");
  const el = h("div", { class: "bar", role: "img", "aria-label": label });
  for (const run of view.runs) {
    const box = h("span", { class: `run ${run.kind}`, title: runText(run) });
    box.style.left = `${run.x}%`;
    box.style.width = `${Math.max(run.w, 0.3)}%`;
    el.append(box);
  }
  for (const marker of view.markers) {
    const pin = h("span", {
      class: `marker ${marker.severity}`,
      title: `${marker.severity} at ${hex32(marker.address)}: ${marker.message}`,
      "data-code": marker.code,
    }, marker.severity === "error" ? "!" : "?");
    pin.style.left = `${marker.x}%`;
    el.append(pin);
  }
  return el;
}

/** A figure for one memory view; ``title`` overrides the caption. */
export function memoryFigure(view, { title } = {}) {
  const caption = title || (view.alt === null ? view.name : `alt ${view.alt}: ${view.name}`);
  const mapped = view.runs.filter((r) => r.kind !== "gap").reduce((n, r) => n + r.end - r.start, 0);
  const details = view.runs.filter((r) => SHOWN_KINDS.has(r.kind));
  const figure = h(
    "figure",
    { class: "memmap", "data-alt": view.alt ?? "" },
    h("figcaption", {}, h("span", { class: "name" }, caption), ` ${size(mapped)}`),
    bar(view),
    h("div", { class: "axis" }, h("span", {}, hex32(view.start)), h("span", {}, hex32(view.end - 1))),
  );
  if (details.length) {
    figure.append(h("ul", { class: "runs" }, details.map((run) =>
      h("li", {}, h("span", { class: `swatch ${run.kind}`, "aria-hidden": "true" }), runText(run)))));
  }
  for (const out of view.outside || []) {
    figure.append(h("p", { class: "note error" },
      `image data outside this memory: ${hex32(out.start)}–${hex32(out.end - 1)}`));
  }
  if (view.markers.length) {
    figure.append(h("ul", { class: "findings" }, view.markers.map((m) =>
      h("li", { class: m.severity },
        h("strong", {}, `${m.severity} at ${hex32(m.address)}: `), m.message))));
  }
  return figure;
}

/** The legend: what each colour means. */
export function legendList(legend) {
  return h("ul", { class: "legend", "aria-label": "Legend" }, legend.map((item) =>
    h("li", {}, h("span", { class: `swatch ${item.kind}`, "aria-hidden": "true" }), item.text)));
}
