// The Device panel (what ST's DfuSe Demo did): the connected devices (or the --sim board)
// with their memories, a file checked against the chosen device before Upgrade is enabled,
// the upgrade with live erase/program/verify progress, a backup, and leaving DFU mode.
import { legendList, memoryFigure } from "./map.js";
import { api, errorNote, fill, h, hex32, note, parseNumber, size, uploadFile } from "./util.js";

const PHASE_NAMES = {
  compare: "Comparing", erase: "Erasing", program: "Programming", verify: "Verifying", upload: "Reading",
};

export class DevicePanel {
  constructor(root, info) {
    this.root = root;
    this.info = info;
    this.devices = [];
    this.device = null;
    this.files = new Map();
    this.checked = null;
    this.busy = false;
    const q = (sel) => root.querySelector(sel);
    this.el = {
      devices: q("#devices"), refresh: q("#refresh"), source: q("#device-file"),
      choose: q("#device-file-input"), address: q("#device-address"), alt: q("#device-alt"),
      check: q("#check"), leaveAfter: q("#leave-after"), upgrade: q("#upgrade"),
      progress: q("#progress"), progressText: q("#progress-text"), phases: q("#phases"),
      result: q("#upgrade-result"), backup: q("#backup"), backupResult: q("#backup-result"),
      leave: q("#leave"), leaveAddress: q("#leave-address"), leaveResult: q("#leave-result"),
    };
    this.el.refresh.addEventListener("click", () => this.refresh());
    this.el.choose.addEventListener("change", () => this.chooseFile());
    this.el.source.addEventListener("change", () => this.check());
    this.el.address.addEventListener("change", () => this.check());
    this.el.alt.addEventListener("change", () => this.check());
    this.el.upgrade.addEventListener("click", () => this.upgrade());
    this.el.backup.addEventListener("click", () => this.backup());
    this.el.leave.addEventListener("click", () => this.leave());
    this.updateButtons();
  }

  async refresh() {
    fill(this.el.devices, h("p", { class: "note info" }, "Looking for DFU devices…"));
    let listing;
    try {
      listing = await api("api/devices");
    } catch (err) {
      fill(this.el.devices, errorNote(err));
      return;
    }
    this.devices = listing.devices;
    const keep = this.device && this.devices.find((d) => d.path === this.device.path && d.serial === this.device.serial);
    this.device = keep || (this.devices.length === 1 ? this.devices[0] : null);
    if (!this.devices.length) {
      fill(this.el.devices, note("info", this.info.sim ? "The virtual board is not on the bus." :
        "No DFU device found. Connect one in DFU mode (BOOT0 high, or its DFU button) and press Refresh."));
    } else {
      fill(this.el.devices, this.devices.map((d, i) => this.deviceCard(d, i)), legendList(listing.legend));
    }
    this.renderAlternates();
    this.updateButtons();
    this.check();
  }

  deviceCard(d, index) {
    const id = `device-${index}`;
    const chosen = this.device === d;
    const radio = h("input", {
      type: "radio", name: "device", id, value: index, checked: chosen,
      onchange: () => { this.device = d; this.renderAlternates(); this.updateButtons(); this.check(); },
    });
    const what = `${d.id} ${d.product || ""} — serial ${d.serial || "-"}, path ${d.path}, ` +
      `${d.mode === "dfu" ? "DFU mode" : "running its application"}, DFU ${d.dfu_version}` +
      `${d.dfuse ? " (DfuSe)" : ""}, transfer ${d.transfer_size} B`;
    const card = h("section", { class: `device ${chosen ? "chosen" : ""}` },
      h("div", { class: "device-head" }, radio, h("label", { for: id }, what)));
    if (d.mode !== "dfu") {
      card.append(h("p", { class: "actions" }, h("button", {
        type: "button", onclick: () => this.detach(d),
      }, "Switch it to DFU mode")));
    }
    card.append(...d.maps.map((view) => memoryFigure(view)));
    return card;
  }

  renderAlternates() {
    const current = this.el.alt.value;
    fill(this.el.alt, h("option", { value: "" }, "the memory that holds the image"));
    for (const alt of this.device?.alternates || []) {
      this.el.alt.append(h("option", { value: alt.alt }, `alt ${alt.alt}: ${alt.name}`));
    }
    this.el.alt.value = [...this.el.alt.options].some((o) => o.value === current) ? current : "";
  }

  /** Offer ``file`` ({id, name, size}) as the upgrade file and check it. */
  setFile(file, { check = true } = {}) {
    if (!this.files.has(file.id)) {
      this.files.set(file.id, file);
      this.el.source.append(h("option", { value: file.id }, `${file.name} (${size(file.size)})`));
    }
    this.el.source.value = file.id;
    if (check) this.check();
  }

  async chooseFile() {
    const file = this.el.choose.files[0];
    if (!file) return;
    this.el.choose.value = "";
    try {
      const d = await uploadFile(file);
      this.setFile({ id: d.id, name: d.name, size: d.size });
    } catch (err) {
      fill(this.el.check, errorNote(err));
    }
  }

  request() {
    const file = this.el.source.value;
    const body = { device: { path: this.device.path, serial: this.device.serial }, file };
    const address = this.el.address.value.trim();
    if (address) body.address = parseNumber(address, { what: "address" });
    if (this.el.alt.value !== "") body.alt = Number(this.el.alt.value);
    return body;
  }

  async check() {
    this.checked = null;
    this.updateButtons();
    if (!this.device || !this.el.source.value) {
      fill(this.el.check, note("info", "Choose a device and a file: the file is checked against the device before Upgrade is enabled."));
      return;
    }
    if (this.device.mode !== "dfu") {
      fill(this.el.check, note("info", "This device runs its application: switch it to DFU mode " +
        "(the button above) to check the file against its memories."));
      return;
    }
    let body;
    try {
      body = this.request();
    } catch (err) {
      fill(this.el.check, errorNote(err));
      return;
    }
    fill(this.el.check, h("p", { class: "note info" }, "Checking…"));
    try {
      const result = await api("api/device/check", { method: "POST", json: body });
      if (body.file !== this.el.source.value) return; // a newer choice is being checked
      this.checked = result.ok ? body : null;
      this.renderCheck(result);
    } catch (err) {
      fill(this.el.check, errorNote(err));
    }
    this.updateButtons();
  }

  renderCheck(result) {
    const errors = result.targets.flatMap((t) => t.findings.filter((f) => f.severity === "error"));
    const parts = [];
    if (result.ok) {
      parts.push(note("ok", `Checked: ${result.file.name} is safe to write to ${result.device}` +
        ` (${result.warnings} warning(s)). Upgrade is enabled.`));
    } else {
      parts.push(h("div", { class: "blocked", role: "alert" },
        note("error", `Upgrade blocked: ${errors.length} problem(s) in ${result.file.name}. Nothing will be written.`),
        h("ul", { class: "findings" }, errors.map((f) => h("li", { class: "error" },
          f.address !== null ? h("strong", {}, `${hex32(f.address)}: `) : null, f.message)))));
    }
    for (const t of result.targets) {
      const plan = t.plan ? ` — ${t.plan.erases.length} sector(s) to erase, ${size(t.plan.bytes_to_write)} to write` : "";
      parts.push(h("p", { class: "target-line" }, `alt ${t.alt} (${t.memory || t.name}): ` +
        `${hex32(t.start)}–${hex32(t.end - 1)}, ${size(t.size)}${plan}`));
      for (const f of t.findings.filter((x) => x.severity !== "error")) {
        parts.push(note(f.severity === "warning" ? "warning" : "info", f.message));
      }
    }
    for (const n of result.notes) parts.push(note("info", n));
    parts.push(...result.maps.map((view) => memoryFigure(view)));
    fill(this.el.check, parts);
  }

  updateButtons() {
    const dfu = this.device && this.device.mode === "dfu";
    this.el.upgrade.disabled = this.busy || !this.checked;
    this.el.backup.disabled = this.busy || !this.device;
    this.el.leave.disabled = this.busy || !dfu;
    this.el.refresh.disabled = this.busy;
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.setAttribute("aria-busy", busy ? "true" : "false");
    this.updateButtons();
  }

  /** Follow a job's server-sent events; resolves with the "done" data, rejects on "failed". */
  follow(jobId, progressEl, textEl, phasesEl = null) {
    const seen = new Set();
    return new Promise((resolve, reject) => {
      const source = new EventSource(`api/jobs/${jobId}/events`);
      source.addEventListener("progress", (e) => {
        const p = JSON.parse(e.data);
        progressEl.max = Math.max(p.total, 1);
        progressEl.value = Math.min(p.done, progressEl.max);
        progressEl.dataset.events = String(Number(progressEl.dataset.events || 0) + 1);
        progressEl.dataset.phase = p.phase;
        textEl.textContent = `${PHASE_NAMES[p.phase] || p.phase}: ${size(p.done)} of ${size(p.total)}` +
          (p.address !== null ? ` (at ${hex32(p.address)})` : "");
        if (phasesEl && !seen.has(p.phase)) {
          seen.add(p.phase);
          phasesEl.append(h("li", { "data-phase": p.phase }, PHASE_NAMES[p.phase] || p.phase));
        }
        if (phasesEl && p.done >= p.total) {
          phasesEl.querySelector(`[data-phase="${p.phase}"]`)?.classList.add("complete");
        }
      });
      source.addEventListener("done", (e) => { source.close(); resolve(JSON.parse(e.data)); });
      source.addEventListener("stopping", (e) => {
        source.close();
        reject(new Error(JSON.parse(e.data).error));
      });
      source.addEventListener("failed", (e) => {
        source.close();
        const data = JSON.parse(e.data);
        const err = new Error(data.error);
        err.hint = data.hint;
        reject(err);
      });
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) reject(new Error("lost the connection to the pydfuse server"));
      };
    });
  }

  async upgrade() {
    if (!this.checked) return;
    const body = { ...this.checked, leave: this.el.leaveAfter.checked };
    this.setBusy(true);
    this.el.progress.value = 0;
    this.el.progress.dataset.events = "0";
    this.el.progress.hidden = false;
    fill(this.el.phases);
    fill(this.el.result, note("info", "Upgrading: do not disconnect the device."));
    try {
      const { job } = await api("api/device/upgrade", { method: "POST", json: body });
      const done = await this.follow(job, this.el.progress, this.el.progressText, this.el.phases);
      this.renderResult(done);
    } catch (err) {
      fill(this.el.result, errorNote(err));
    } finally {
      this.setBusy(false);
    }
    await this.refresh();
    this.el.result.focus();
  }

  renderResult(done) {
    const r = done.result;
    const verified = r.verified ? "verified" : "not verified";
    const parts = [note("ok", `Upgrade complete: wrote ${size(r.bytes_written)} to ${r.device} in ` +
      `${r.elapsed_s.toFixed(2)} s${done.sim ? " (modeled)" : ""}; ${verified}` +
      `${r.left ? "; left DFU mode" : ""}.`)];
    parts.push(h("ul", {}, r.targets.map((t) => h("li", { class: "target-result" },
      `alt ${t.alt} ${t.name}: ${size(t.bytes_written)}, ${t.erased_sectors.length} sector(s) erased, ` +
      (t.verified ? "verified" : "not verified")))));
    for (const w of r.warnings) parts.push(note("warning", w));
    if (done.sim) parts.push(note("info", boardLine(done.sim)), ...runNotes(done.sim));
    fill(this.el.result, parts);
  }

  async backup() {
    this.setBusy(true);
    const progress = this.root.querySelector("#backup-progress");
    const text = this.root.querySelector("#backup-progress-text");
    progress.hidden = false;
    progress.value = 0;
    fill(this.el.backupResult, note("info", "Reading every memory of the device…"));
    try {
      const body = { device: { path: this.device.path, serial: this.device.serial } };
      const { job } = await api("api/device/backup", { method: "POST", json: body });
      const done = await this.follow(job, progress, text);
      const f = done.file;
      fill(this.el.backupResult,
        note("ok", `Backup read: ${f.name}, ${size(f.size)} (${done.summary.targets?.length ?? 1} target(s)).`),
        h("p", { class: "actions" },
          h("a", { class: "button", href: `api/files/${f.id}/download`, download: f.name }, `Download ${f.name}`),
          h("button", { type: "button", class: "secondary", onclick: () => this.setFile(f) }, "Choose it for Upgrade")));
    } catch (err) {
      fill(this.el.backupResult, errorNote(err));
    } finally {
      this.setBusy(false);
    }
  }

  async leave() {
    const body = { device: { path: this.device.path, serial: this.device.serial } };
    try {
      const text = this.el.leaveAddress.value.trim();
      if (text) body.address = parseNumber(text, { what: "jump address" });
      this.setBusy(true);
      const result = await api("api/device/leave", { method: "POST", json: body });
      fill(this.el.leaveResult,
        note("ok", result.left ? "Left DFU mode." : "The device stayed in DFU mode."),
        result.sim ? note("info", boardLine(result.sim)) : null,
        ...(result.sim ? runNotes(result.sim) : []));
    } catch (err) {
      fill(this.el.leaveResult, errorNote(err));
    } finally {
      this.setBusy(false);
    }
    await this.refresh();
  }

  async detach(d) {
    try {
      this.setBusy(true);
      await api("api/device/detach", { method: "POST", json: { device: { path: d.path, serial: d.serial } } });
    } catch (err) {
      fill(this.el.check, errorNote(err));
    } finally {
      this.setBusy(false);
    }
    await this.refresh();
  }
}

/** What the virtual board's core saw the application do: its errors and warnings with the
 * first fix, or that it reached its main loop / is still running (as `dfuse flash --leave`). */
function runNotes(sim) {
  const run = sim.run;
  if (!run) return [];
  if (run.stop === "not-run") return [note("info", run.detail)];
  const serious = run.findings.filter((f) => f.severity !== "info");
  if (serious.length) {
    return serious.map((f) => note(f.severity, `The application's run: ${f.message}`,
      f.fix.length ? `fix: ${f.fix[0]}` : undefined));
  }
  if (run.main_loop) return [note("ok", "The application reached its main loop on the board's core.")];
  if (run.stop === "budget") {
    return [note("info", `The application was still running after ${run.budget.toLocaleString("en")} instructions.`)];
  }
  return [];
}

function boardLine(sim) {
  const where = sim.running === "application" && sim.vector_table !== null ? ` from ${hex32(sim.vector_table)}` : "";
  return `Virtual board ${sim.profile} (${sim.serial}): running ${sim.running}${where}.`;
}
