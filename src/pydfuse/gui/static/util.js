// Small helpers shared by the panels: building DOM nodes, calling the server, formatting.
// Every URL is relative to the page (/TOKEN/), so the access token travels with each request.

/** Create an element: h("div", {class: "x", onclick: f}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace the children of ``el``. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
}

/** An error the server answered with: message, hint and kind as JSON. */
export class ApiError extends Error {
  constructor(status, data) {
    super(data.error || `the server answered ${status}`);
    this.status = status;
    this.hint = data.hint || null;
    this.kind = data.kind || null;
    this.address = data.address ?? null;
  }
}

/** Call the server: JSON in (``json``) or raw bytes (``body``), JSON out. */
export async function api(path, { method = "GET", json, body } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["content-type"] = "application/octet-stream";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: "the pydfuse server does not answer (was it stopped?)" });
  }
  let data = {};
  try {
    data = await response.json();
  } catch (err) {
    data = { error: `the server answered ${response.status} ${response.statusText}` };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Upload a File object; resolves to the server's description of it. */
export function uploadFile(file) {
  return api(`api/files?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
}

export function hex32(value) {
  return "0x" + (value >>> 0).toString(16).padStart(8, "0");
}

export function hex16(value) {
  return "0x" + (value & 0xffff).toString(16).padStart(4, "0");
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = [["KiB", 1024], ["MiB", 1024 ** 2], ["GiB", 1024 ** 3]];
  for (const [unit, scale] of units) {
    if (bytes < scale * 1024 || unit === "GiB") {
      const value = bytes / scale;
      return Number.isInteger(value) ? `${value} ${unit}` : `${value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

/** "0x08003000", "134230016", "12K", "1M" -> number; throws with a message otherwise. */
export function parseNumber(text, { max = 0xffffffff, what = "address" } = {}) {
  const match = /^\s*(0x[0-9a-f_]+|[0-9][0-9_]*)\s*([km])?(?:i?b)?\s*$/i.exec(text || "");
  if (!match) {
    throw new Error(`${what} ${JSON.stringify(text)}: use hex (0x08003000), decimal, or 16K`);
  }
  const digits = match[1].replace(/_/g, "");
  let value = digits.toLowerCase().startsWith("0x") ? parseInt(digits, 16) : parseInt(digits, 10);
  if (match[2]) value *= match[2].toLowerCase() === "k" ? 1024 : 1024 * 1024;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new Error(`${what} ${text.trim()} is too large (at most ${"0x" + max.toString(16)})`);
  }
  return value;
}

/** A message paragraph: kind "error", "warning", "ok" or "info". */
export function note(kind, text, hint) {
  return h(
    "p",
    { class: `note ${kind}` },
    h("strong", {}, { error: "Error: ", warning: "Warning: ", ok: "", info: "" }[kind] ?? ""),
    text,
    hint ? h("span", { class: "hint" }, ` — ${hint}`) : null,
  );
}

/** An error (ApiError or Error) as a note. */
export function errorNote(err) {
  return note("error", err.message, err.hint);
}
