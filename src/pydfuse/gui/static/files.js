// The File panel (what ST's DFU File Manager did): targets with their files, the .dfu they
// make drawn on a board's memories with the pre-flight findings, and opening an existing
// .dfu to inspect, extract or edit its targets.
import { legendList, memoryFigure } from "./map.js";
import {
  api, errorNote, fill, h, hex16, hex32, note, parseNumber, size, uploadFile,
} from "./util.js";

let nextKey = 1;
const KIND_NAMES = { ihex: "Intel HEX", srec: "S-record", elf: "ELF", bin: "raw binary", dfu: ".dfu" };

export class FilePanel {
  constructor(root, info, { useOnDevice }) {
    this.root = root;
    this.info = info;
    this.useOnDevice = useOnDevice;
    this.targets = [];
    this.previewTimer = null;
    this.previewSeq = 0;
    this.el = {
      targets: root.querySelector("#targets"),
      board: root.querySelector("#board"),
      vid: root.querySelector("#vid"),
      pid: root.querySelector("#pid"),
      bcd: root.querySelector("#bcd"),
      status: root.querySelector("#pack-status"),
      preview: root.querySelector("#pack-preview"),
      filename: root.querySelector("#dfu-name"),
      make: root.querySelector("#make-dfu"),
      made: root.querySelector("#made"),
      open: root.querySelector("#open-dfu"),
      opened: root.querySelector("#opened"),
    };
    for (const board of info.boards) {
      this.el.board.append(h("option", { value: board.name }, `${board.name} — ${board.description}`));
    }
    this.el.board.value = info.sim || "stm3210e-eval";
    for (const input of [this.el.board, this.el.vid, this.el.pid, this.el.bcd]) {
      input.addEventListener("change", () => this.schedulePreview());
    }
    root.querySelector("#add-target").addEventListener("click", () => this.addTarget(true));
    this.el.make.addEventListener("click", () => this.make());
    this.el.open.addEventListener("change", () => this.openDfu());
    this.addTarget(false);
  }

  board() {
    return this.info.boards.find((b) => b.name === this.el.board.value) || null;
  }

  addTarget(focus) {
    const used = new Set(this.targets.map((t) => t.alt));
    let alt = 0;
    while (used.has(alt)) alt += 1;
    const known = this.board()?.alternates.find((a) => a.alt === alt);
    this.targets.push({ key: nextKey++, alt, name: known ? known.name : "", files: [] });
    this.renderTargets();
    if (focus) this.el.targets.lastElementChild?.querySelector("input")?.focus();
    this.schedulePreview();
  }

  renderTargets() {
    fill(this.el.targets, this.targets.map((target, index) => this.targetEditor(target, index)));
  }

  targetEditor(target, index) {
    const id = `t${target.key}`;
    const alt = h("input", {
      id: `${id}-alt`, type: "number", min: 0, max: 255, value: target.alt, class: "alt",
      oninput: (e) => { target.alt = Number(e.target.value); this.schedulePreview(); },
    });
    const name = h("input", {
      id: `${id}-name`, type: "text", value: target.name, maxlength: 254, placeholder: "ST...",
      oninput: (e) => { target.name = e.target.value; this.schedulePreview(); },
    });
    const fileInput = h("input", {
      id: `${id}-file`, type: "file", accept: ".hex,.ihex,.ihx,.s19,.s28,.s37,.srec,.mot,.elf,.axf,.out,.bin",
      onchange: (e) => this.addFiles(target, e.target),
    });
    return h(
      "fieldset", { class: "target", "data-alt": target.alt },
      h("legend", {}, `Target ${index + 1}`),
      h("div", { class: "fields" },
        h("label", { for: `${id}-alt` }, "Alternate setting"), alt,
        h("label", { for: `${id}-name` }, "Target name"), name),
      h("ul", { class: "files" }, target.files.map((f) => this.fileRow(target, f))),
      h("div", { class: "fields" },
        h("label", { for: `${id}-file` }, "Add a file (HEX, S19, ELF, BIN)"), fileInput),
      h("button", {
        type: "button", class: "secondary",
        onclick: () => {
          this.targets = this.targets.filter((t) => t !== target);
          this.renderTargets();
          this.schedulePreview();
        },
      }, `Remove target ${index + 1}`),
    );
  }

  fileRow(target, entry) {
    const d = entry.file;
    const what = d.kind === "bin"
      ? "raw binary: give its load address"
      : `${KIND_NAMES[d.kind] || d.kind}, ${hex32(d.image.start)}–${hex32(d.image.end - 1)} ` +
        `(${size(d.image.size)} in ${d.image.segments.length} run(s))`;
    const row = h("li", { class: "file" }, h("span", { class: "filename" }, d.name), ` — ${what} `);
    if (d.kind === "bin") {
      const id = `f${entry.key}-address`;
      row.append(
        h("label", { for: id }, "Address"),
        h("input", {
          id, type: "text", value: entry.address, placeholder: "0x08003000", class: "address",
          oninput: (e) => { entry.address = e.target.value; this.schedulePreview(); },
        }),
      );
    }
    row.append(h("button", {
      type: "button", class: "secondary",
      onclick: () => {
        target.files = target.files.filter((f) => f !== entry);
        this.renderTargets();
        this.schedulePreview();
      },
    }, `Remove ${d.name}`));
    return row;
  }

  async addFiles(target, input) {
    const chosen = [...input.files];
    input.value = "";
    for (const file of chosen) {
      try {
        const described = await uploadFile(file);
        if (described.kind === "dfuse" || described.kind === "plain-dfu") {
          throw new Error(`${file.name} is a .dfu: open it below ("Open a .dfu") to edit its targets`);
        }
        target.files.push({ key: nextKey++, file: described, address: "" });
      } catch (err) {
        fill(this.el.status, errorNote(err));
        return;
      }
    }
    this.renderTargets();
    this.el.targets.querySelector(`[data-alt="${target.alt}"] input[type=file]`)?.focus();
    this.schedulePreview();
  }

  spec() {
    const id16 = (input, what) => parseNumber(input.value, { max: 0xffff, what });
    return {
      vid: id16(this.el.vid, "VID"),
      pid: id16(this.el.pid, "PID"),
      bcd_device: id16(this.el.bcd, "bcdDevice"),
      board: this.el.board.value || null,
      targets: this.targets.map((t) => {
        if (!Number.isInteger(t.alt) || t.alt < 0 || t.alt > 255) {
          throw new Error(`alternate setting ${t.alt} must be a number from 0 to 255`);
        }
        return {
          alt: t.alt,
          name: t.name,
          files: t.files.map((f) => ({
            id: f.file.id,
            address: f.file.kind === "bin"
              ? parseNumber(f.address, { what: `address of ${f.file.name}` })
              : null,
          })),
        };
      }),
    };
  }

  schedulePreview() {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.preview(), 200);
  }

  async preview() {
    const seq = ++this.previewSeq;
    this.el.make.disabled = true;
    if (!this.targets.some((t) => t.files.length)) {
      fill(this.el.status, note("info", "Add a HEX, S19, ELF or BIN file to a target to see it on the memory map."));
      fill(this.el.preview);
      return;
    }
    let result;
    try {
      result = await api("api/pack/preview", { method: "POST", json: this.spec() });
    } catch (err) {
      if (seq !== this.previewSeq) return;
      fill(this.el.status, errorNote(err));
      fill(this.el.preview);
      return;
    }
    if (seq !== this.previewSeq) return;
    this.el.make.disabled = false;
    this.renderPreview(result);
  }

  renderPreview(result) {
    const parts = [];
    const check = result.check;
    if (check) {
      const verdict = check.ok
        ? note("ok", `Checked against ${result.board}: safe to flash (${check.warnings} warning(s)).`)
        : note("error", `Checked against ${result.board}: ${check.errors} error(s) — this file would be refused.`);
      fill(this.el.status, verdict);
    } else {
      fill(this.el.status, note("info", "No board chosen: the targets are drawn on their own."));
    }
    parts.push(h("h3", {}, "Targets and elements"));
    parts.push(h("ul", { class: "summary" }, result.targets.map((t) =>
      h("li", {}, h("strong", {}, `alt ${t.alt} “${t.name}”`),
        `: ${t.elements.length} element(s), ${size(t.size)}`,
        h("ul", {}, t.elements.map((e) =>
          h("li", {}, `${hex32(e.address)}–${hex32(e.end - 1)} (${size(e.size)})`)))))));
    if (result.maps) {
      parts.push(h("h3", {}, `On the memories of ${result.board}`));
      parts.push(...result.maps.map((view) => memoryFigure(view)));
      parts.push(legendList(result.legend));
    } else {
      parts.push(...result.views.map((view) => memoryFigure(view, { title: `alt ${view.alt}: ${view.name}` })));
    }
    for (const warning of result.warnings || []) parts.push(note("warning", warning));
    fill(this.el.preview, parts);
  }

  async make() {
    let spec;
    try {
      spec = this.spec();
    } catch (err) {
      fill(this.el.made, errorNote(err));
      return;
    }
    try {
      const made = await api("api/pack", {
        method: "POST", json: { ...spec, filename: this.el.filename.value || "firmware.dfu" },
      });
      const file = made.file;
      fill(this.el.made,
        note("ok", `Made ${file.name}: ${made.targets.length} target(s), ${size(file.size)}.`),
        h("p", { class: "actions" },
          h("a", { href: `api/files/${file.id}/download`, download: file.name, class: "button", id: "download-made" },
            `Download ${file.name}`),
          h("button", { type: "button", onclick: () => this.useOnDevice(file) }, "Use it on the device")));
      this.el.made.querySelector("a").focus();
    } catch (err) {
      fill(this.el.made, errorNote(err));
    }
  }

  async openDfu() {
    const file = this.el.open.files[0];
    if (!file) return;
    this.el.open.value = "";
    try {
      const d = await uploadFile(file);
      if (d.kind !== "dfuse" && d.kind !== "plain-dfu") {
        throw new Error(`${file.name} is not a .dfu file (${KIND_NAMES[d.kind] || d.kind}); add it to a target above`);
      }
      this.renderOpened(d);
    } catch (err) {
      fill(this.el.opened, errorNote(err));
    }
  }

  renderOpened(d) {
    const s = d.suffix;
    const parts = [
      h("h3", {}, d.name),
      h("p", {}, `${d.kind === "dfuse" ? "DfuSe" : "plain DFU"} file, ${size(d.file_size)}; suffix VID ${hex16(s.vid)}, ` +
        `PID ${hex16(s.pid)}, bcdDevice ${hex16(s.bcd_device)}, CRC ${hex32(s.crc)} (ok)`),
    ];
    for (const warning of d.warnings || []) parts.push(note("warning", warning));
    if (d.kind === "plain-dfu") {
      parts.push(h("p", {}, `Payload: ${size(d.payload_size)} (no addresses).`),
        h("p", { class: "actions" }, h("a", { class: "button", href: `api/files/${d.id}/extract?format=bin` }, "Extract the payload (.bin)")));
    }
    (d.targets || []).forEach((t, index) => {
      const extract = (fmt, label, element) => h("a", {
        class: "button secondary",
        href: `api/files/${d.id}/extract?target=${index}&format=${fmt}` + (element === undefined ? "" : `&element=${element}`),
      }, label);
      parts.push(h("section", { class: "opened-target" },
        h("h4", {}, `Target ${index}: alt ${t.alt} “${t.name}”${t.named ? "" : " (unnamed)"} — ${size(t.size)}`),
        h("ul", {}, t.elements.map((e, n) => h("li", {},
          `element ${n}: ${hex32(e.address)}–${hex32(e.end - 1)} (${size(e.size)}) `,
          extract("bin", `Extract element ${n} of target ${index} (.bin)`, n)))),
        h("p", { class: "actions" },
          extract("hex", `Extract target ${index} (.hex)`),
          extract("srec", `Extract target ${index} (.s19)`))));
    });
    for (const view of d.views || []) parts.push(memoryFigure(view));
    const actions = h("p", { class: "actions" },
      h("button", { type: "button", onclick: () => this.useOnDevice({ id: d.id, name: d.name, size: d.size }) }, "Use it on the device"));
    if (d.kind === "dfuse") {
      actions.append(h("button", { type: "button", class: "secondary", onclick: () => this.edit(d) }, "Edit its targets above"));
    }
    parts.push(actions);
    fill(this.el.opened, parts);
  }

  async edit(d) {
    try {
      const spec = await api(`api/files/${d.id}/edit`, { method: "POST" });
      this.targets = spec.targets.map((t) => ({
        key: nextKey++, alt: t.alt, name: t.name,
        files: t.files.map((f) => ({ key: nextKey++, file: f, address: "" })),
      }));
      this.el.vid.value = hex16(spec.vid);
      this.el.pid.value = hex16(spec.pid);
      this.el.bcd.value = hex16(spec.bcd_device);
      this.el.filename.value = d.name;
      this.renderTargets();
      this.schedulePreview();
      this.el.targets.querySelector("input")?.focus();
    } catch (err) {
      fill(this.el.opened, errorNote(err));
    }
  }
}
