// bcm studio: one page over the studio's JSON API. No framework, no build step.
"use strict";

const $ = id => document.getElementById(id);
let info = null;           // GET /api/info
const slots = {};          // image slots by name: { url (data URL as loaded), preview (img element) }

// ---- talking to the server -------------------------------------------------------------------------------------

async function api(path, body) {
  const ticket = Math.random().toString(36).slice(2);
  const poll = setInterval(() => showQueue(ticket), 250);
  try {
    const response = await fetch("/api/" + path, {
      method: "POST", headers: { "Content-Type": "application/json", "X-Bcm-Ticket": ticket }, body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  } finally {
    clearInterval(poll);
    $("queue").textContent = "";
  }
}

async function showQueue(ticket) {
  const q = await (await fetch("/api/queue?ticket=" + ticket)).json();
  $("queue").textContent = q.position > 0 ? `waiting: ${q.position} request(s) ahead` : q.position === 0 ? "running…" : "";
}

function label() { return info && info.classes > 0 ? Number($("label").value) : null; }
function seed(id) { return Number($(id).value) || 0; }
function levels(id) { const v = $(id).value.trim(); return v === "" ? null : v; }

// Runs a panel's request: disables its button, shows errors next to it, and the plan, NFE and time after it.
async function run(panel, path, body, show) {
  const button = $(panel + "-run"), error = $(panel + "-error");
  button.disabled = true;
  error.textContent = "";
  try {
    const result = await api(path, body);
    show(result);
    $(panel + "-meta").textContent = `${result.plan} · ${result.nfe} NFE · ${result.milliseconds.toFixed(0)} ms`;
    document.body.dataset[panel] = "done"; // for tests: the panel has a fresh result
  } catch (e) {
    error.textContent = e.message;
    document.body.dataset[panel] = "error";
  } finally {
    button.disabled = false;
  }
}

// Shows a data URL in an img and offers it for download beside its caption.
function showImage(id, url, file) {
  const img = $(id);
  img.src = url;
  const caption = img.parentElement.querySelector("figcaption");
  let link = caption.querySelector("a");
  if (!link) { link = document.createElement("a"); link.textContent = "download"; caption.appendChild(link); }
  link.href = url;
  link.download = file;
}

// Shows each round's image in turn (a quarter second each), then the result: watching the rounds refine the fill.
let playing = null;
function playRounds(id, frames, result, file) {
  clearInterval(playing);
  let i = 0;
  const caption = $(id).parentElement.querySelector("figcaption");
  const base = caption.firstChild.textContent;
  playing = setInterval(() => {
    if (i < frames.length) { $(id).src = frames[i++]; caption.firstChild.textContent = `round ${i} of ${frames.length} `; return; }
    clearInterval(playing);
    caption.firstChild.textContent = base;
    showImage(id, result, file);
  }, 250);
  showImage(id, result, file); // the download link holds the result from the start
  if (frames.length) $(id).src = frames[0];
}

// ---- image slots: a file (chosen or dropped) or a test image of the run's data ------------------------------------

function makePicker(element) {
  const name = element.dataset.slot;
  element.innerHTML = `<img alt=""><input type="file" accept="image/png,image/jpeg" id="${name}-file">
    <span>or test image <input type="number" id="${name}-test-index" min="0" value="${Object.keys(slots).length}">
    <button id="${name}-test-load">Load</button></span><span class="muted" id="${name}-source">drop an image here</span>`;
  slots[name] = { url: null, preview: element.querySelector("img") };
  const set = (url, source) => {
    slots[name].url = url;
    slots[name].preview.src = url;
    $(name + "-source").textContent = source;
    element.dispatchEvent(new CustomEvent("image", { detail: url }));
  };
  const readFile = file => { const r = new FileReader(); r.onload = () => set(r.result, file.name); r.readAsDataURL(file); };
  $(name + "-file").addEventListener("change", e => e.target.files[0] && readFile(e.target.files[0]));
  element.addEventListener("dragover", e => { e.preventDefault(); element.classList.add("drag"); });
  element.addEventListener("dragleave", () => element.classList.remove("drag"));
  element.addEventListener("drop", e => { e.preventDefault(); element.classList.remove("drag"); e.dataTransfer.files[0] && readFile(e.dataTransfer.files[0]); });
  $(name + "-test-load").addEventListener("click", async () => {
    const index = Number($(name + "-test-index").value);
    const response = await fetch("/api/test-image/" + index);
    if (!response.ok) { $(name + "-source").textContent = (await response.json()).error; return; }
    const blob = await response.blob();
    const r = new FileReader();
    r.onload = () => set(r.result, `${info.testImages.name} #${index}`);
    r.readAsDataURL(blob);
  });
}

function image(slot) {
  if (!slots[slot].url) throw new Error("load an image first (a file, or a test image)");
  return slots[slot].url;
}

// ---- painting on a canvas at the model's resolution --------------------------------------------------------------

function loadInto(canvas, url) {
  return new Promise(resolve => {
    const img = new Image();
    img.onload = () => { canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height); resolve(); };
    img.src = url;
  });
}

// Calls paint(x, y) for every model pixel within the brush of a pointer stroke, then after() once per pointer event.
function paintable(canvas, brushId, paint, after = () => {}) {
  let down = false;
  const at = e => {
    const rect = canvas.getBoundingClientRect(), s = canvas.width;
    const cx = (e.clientX - rect.left) / rect.width * s, cy = (e.clientY - rect.top) / rect.height * s;
    const r = Number($(brushId).value) * s / 56;
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++)
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++)
        if (x >= 0 && y >= 0 && x < s && y < s && (x + .5 - cx) ** 2 + (y + .5 - cy) ** 2 <= Math.max(r * r, .5)) paint(x, y);
    after();
  };
  canvas.addEventListener("pointerdown", e => { down = true; canvas.setPointerCapture(e.pointerId); at(e); });
  canvas.addEventListener("pointermove", e => down && at(e));
  canvas.addEventListener("pointerup", () => { down = false; });
}

// ---- panels ----------------------------------------------------------------------------------------------------

function setupSample() {
  validatePlan("sample-plan", "generate");
  $("sample-run").addEventListener("click", () => run("sample", "sample",
    { plan: $("sample-plan").value, seed: seed("sample-seed"), count: Number($("sample-count").value), label: label() },
    r => showImage("sample-grid", r.images.samples, "samples.png")));
}

function setupInvert() {
  validatePlan("invert-plan", "invert");
  validatePlan("invert-regenerate", "generate");
  $("invert-run").addEventListener("click", () => guarded("invert", () => run("invert", "invert",
    { image: image("invert"), plan: $("invert-plan").value, regenerate: $("invert-regenerate").value, seed: seed("invert-seed"), label: label() },
    r => {
      showImage("invert-input", r.images.input, "input.png");
      showImage("invert-latent", r.images.latent, "latent.png");
      showImage("invert-reconstruction", r.images.reconstruction, "reconstruction.png");
      $("invert-meta").dataset.extra = `MSE ${r.metrics.mse.toFixed(5)} · PSNR ${r.metrics.psnr.toFixed(2)} dB`;
    }).then(() => appendExtra("invert"))));
}

function setupInterpolate() {
  let frames = [];
  const showFrame = () => {
    const i = Number($("interp-slider").value);
    if (!frames.length) return;
    showImage("interp-frame", frames[i], `frame-${i}.png`);
    $("interp-alpha").textContent = (i / (frames.length - 1)).toFixed(3);
  };
  $("interp-slider").addEventListener("input", showFrame);
  $("interp-run").addEventListener("click", () => guarded("interp", () => run("interp", "interpolate",
    { a: image("interp-a"), b: image("interp-b"), count: Number($("interp-count").value), seed: seed("interp-seed"),
      lerp: $("interp-lerp").checked, independentNoise: $("interp-independent").checked, label: label() },
    r => {
      frames = r.frames;
      const slider = $("interp-slider");
      slider.max = frames.length - 1;
      slider.value = Math.floor((frames.length - 1) / 2);
      slider.disabled = false;
      showFrame();
      showImage("interp-strip", r.images.strip, "interpolation.png");
    })));
}

function setupInpaint() {
  const canvas = $("inpaint-canvas"), s = info.size;
  canvas.width = canvas.height = s;
  let mask = new Uint8Array(s * s); // 1 = fill
  let picture = null;
  const draw = () => {
    const ctx = canvas.getContext("2d");
    if (picture) ctx.putImageData(picture, 0, 0); else ctx.clearRect(0, 0, s, s);
    ctx.fillStyle = "rgba(230, 40, 40, 0.75)";
    for (let p = 0; p < s * s; p++) if (mask[p]) ctx.fillRect(p % s, Math.floor(p / s), 1, 1);
    $("inpaint-mask").src = maskUrl();
  };
  const maskUrl = () => {
    const c = document.createElement("canvas");
    c.width = c.height = s;
    const ctx = c.getContext("2d"), data = ctx.createImageData(s, s);
    for (let p = 0; p < s * s; p++) {
      const v = mask[p] ? 0 : 255;
      data.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(data, 0, 0);
    return c.toDataURL("image/png");
  };
  document.querySelector('[data-slot="inpaint"]').addEventListener("image", async e => {
    await loadInto(canvas, e.detail);
    picture = canvas.getContext("2d").getImageData(0, 0, s, s);
    draw();
  });
  paintable(canvas, "inpaint-brush", (x, y) => { mask[y * s + x] = 1; }, draw);
  $("inpaint-clear").addEventListener("click", () => { mask = new Uint8Array(s * s); draw(); });
  $("inpaint-levels").placeholder = info.defaults.inpaint;
  $("inpaint-run").addEventListener("click", () => guarded("inpaint", () => run("inpaint", "inpaint",
    { image: image("inpaint"), mask: maskUrl(), levels: levels("inpaint-levels"), seed: seed("inpaint-seed"), label: label() },
    r => {
      showImage("inpaint-rounds", r.images.rounds, "rounds.png");
      playRounds("inpaint-result", r.frames, r.images.result, "inpainted.png");
    })));
  draw();
}

function setupRestore() {
  $("restore-quality").addEventListener("input", () => { $("restore-quality-value").textContent = $("restore-quality").value; });
  $("restore-levels").placeholder = info.defaults.restore;
  $("restore-run").addEventListener("click", () => guarded("restore", () => run("restore", "restore",
    { image: image("restore"), quality: Number($("restore-quality").value), levels: levels("restore-levels"), seed: seed("restore-seed"), label: label() },
    r => {
      showImage("restore-input", r.images.input, "clean.png");
      showImage("restore-degraded", r.images.degraded, "jpeg.png");
      showImage("restore-restored", r.images.restored, "restored.png");
      $("restore-psnr-degraded").textContent = `${r.metrics.psnrDegraded.toFixed(2)} dB`;
      $("restore-psnr-restored").textContent = `${r.metrics.psnrRestored.toFixed(2)} dB`;
    })));
}

function setupEdit() {
  const canvas = $("edit-canvas"), s = info.size;
  canvas.width = canvas.height = s;
  let loaded = null;
  document.querySelector('[data-slot="edit"]').addEventListener("image", async e => { loaded = e.detail; await loadInto(canvas, loaded); });
  $("edit-reset").addEventListener("click", () => loaded && loadInto(canvas, loaded));
  paintable(canvas, "edit-brush", (x, y) => {
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = $("edit-colour").value;
    ctx.fillRect(x, y, 1, 1);
  });
  $("edit-levels").placeholder = info.defaults.edit;
  $("edit-run").addEventListener("click", () => guarded("edit", () => {
    if (!loaded) throw new Error("load an image first (a file, or a test image)");
    return run("edit", "edit", { image: canvas.toDataURL("image/png"), levels: levels("edit-levels"), seed: seed("edit-seed"), label: label() },
      r => showImage("edit-result", r.images.result, "edited.png"));
  }));
}

// Errors raised before a request is sent (no image yet) go where the server's would.
function guarded(panel, body) {
  try {
    return body();
  } catch (e) {
    $(panel + "-error").textContent = e.message;
    document.body.dataset[panel] = "error";
    return Promise.resolve();
  }
}

function appendExtra(panel) {
  const meta = $(panel + "-meta");
  if (meta.dataset.extra && document.body.dataset[panel] === "done") meta.textContent += " · " + meta.dataset.extra;
}

// Checks plan text as the CLI does, as the user types; the message appears next to the field.
function validatePlan(id, direction) {
  let timer = null;
  $(id).addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch("/api/plan", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ plan: $(id).value, direction }) });
      const answer = await response.json();
      $(id + "-error").textContent = response.ok ? `${answer.nfe} NFE` : answer.error;
      $(id + "-error").className = response.ok ? "muted" : "field-error";
    }, 200);
  });
}

// ---- start -----------------------------------------------------------------------------------------------------

function showTab(name) {
  document.querySelectorAll("nav button").forEach(b => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".panel").forEach(p => { p.hidden = p.id !== "panel-" + name; });
}

async function start() {
  info = await (await fetch("/api/info")).json();
  const t = info.testImages;
  $("model-info").textContent = `${info.source}${info.step != null ? ` (step ${info.step})` : ""} · ${info.channels}×${info.size}×${info.size} · ` +
    `${(info.parameters / 1e6).toFixed(2)} M parameters · ${info.device}` +
    (t.count ? ` · test images: ${t.name} (${t.count}${t.heldOut ? ", held out" : ", training images"})` : ` · ${t.error}`);
  if (info.classes > 0) { $("label-box").hidden = false; $("label").max = info.classes - 1; }
  $("preset-names").textContent = Object.keys(info.presets).join(", ");
  document.querySelectorAll("nav button").forEach(b => b.addEventListener("click", () => showTab(b.dataset.tab)));
  document.querySelectorAll(".picker").forEach(makePicker);
  setupSample();
  setupInvert();
  setupInterpolate();
  setupInpaint();
  setupRestore();
  setupEdit();
  document.body.dataset.ready = "true";
}

start().catch(e => { $("model-info").textContent = "cannot reach the studio: " + e.message; });
