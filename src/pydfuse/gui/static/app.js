// Start-up: ask the server what it serves, build both panels, and run the tabs (arrow keys,
// Home and End move between them, as in any tab list).
import { DevicePanel } from "./device.js";
import { FilePanel } from "./files.js";
import { api, errorNote, fill } from "./util.js";

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    document.dispatchEvent(new CustomEvent("panel", { detail: tab.id }));
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (e) => {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (!(e.key in moves)) return;
      e.preventDefault();
      select(tabs[(moves[e.key] + tabs.length) % tabs.length], true);
    });
  });
  return (id) => select(document.getElementById(id), true);
}

async function main() {
  const showTab = setupTabs();
  let info;
  try {
    info = await api("api/info");
  } catch (err) {
    fill(document.getElementById("startup"), errorNote(err));
    return;
  }
  document.getElementById("where").textContent = info.sim
    ? `virtual board ${info.sim}`
    : "USB devices";
  document.getElementById("version").textContent = `pydfuse ${info.version}`;
  const devicePanel = new DevicePanel(document.getElementById("panel-device"), info);
  const filePanel = new FilePanel(document.getElementById("panel-files"), info, {
    useOnDevice: (file) => {
      devicePanel.setFile(file, { check: false });
      showTab("tab-device"); // lists the devices again, then checks the file
    },
  });
  document.addEventListener("panel", (e) => {
    if (e.detail === "tab-device") devicePanel.refresh();
  });
  window.pydfuse = { filePanel, devicePanel }; // for the curious, and the browser tests
  document.body.dataset.ready = "true";
}

main();
