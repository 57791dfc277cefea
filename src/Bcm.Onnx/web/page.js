// The page: generation from a seed and a plan, inversion of a dropped image, interpolation between two; NFE and time
// per image under each. window.bcmPage is the same, for scripts (the project's browser test drives it).
'use strict';
(async () => {
  const $ = (id) => document.getElementById(id);
  const fail = (e) => { $('error').textContent = String(e && e.message ? e.message : e); };
  const clearError = () => { $('error').textContent = ''; };
  let model, plans;
  try {
    [model, plans] = await Promise.all([BcmWeb.BcmModel.open('.'), fetch('plans.json').then((r) => r.json())]);
  } catch (e) {
    fail(`The model could not be loaded: ${e.message || e}`);
    return;
  }
  const cfg = model.config, [channels, height, width] = cfg.sample_shape, isImage = cfg.sample_shape.length === 3;
  $('model-info').textContent = `Model: ${cfg.model_kind}, samples of [${cfg.sample_shape.join(', ')}]` +
    `${cfg.num_classes ? `, ${cfg.num_classes} classes` : ''}; ${model.threads} WebAssembly thread${model.threads === 1 ? '' : 's'}` +
    `${self.crossOriginIsolated ? '' : ' (threads need a cross-origin isolated page)'}.`;
  for (const [select, names] of [[$('plan'), plans.generate], [$('invert-plan'), plans.invert]])
    for (const name of names) select.add(new Option(`${name} (${plans.plans[name].nfe} NFE)`, name));
  if (cfg.num_classes > 0) { $('class-label').hidden = false; $('class').max = cfg.num_classes - 1; }
  if (!isImage || plans.invert.length === 0) { $('invert').hidden = true; $('interpolate').hidden = true; }

  const planOf = (name) => {
    const p = plans.plans[name];
    if (!p) throw new Error(`unknown plan '${name}': one of ${Object.keys(plans.plans).join(', ')}`);
    return p;
  };
  const intIn = (id, lo, hi, what) => {
    const v = Number($(id).value);
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what} must be an integer in ${lo}..${hi}, got '${$(id).value}'`);
    return v;
  };
  const draw = (values, index, into) => {
    const c = document.createElement('canvas');
    c.width = width; c.height = height; c.className = 'sample';
    const ctx = c.getContext('2d'), img = ctx.createImageData(width, height), n = width * height;
    const byte = (v) => Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
    for (let p = 0; p < n; p++) {
      const o = index * channels * n;
      img.data[4 * p] = byte(values[o + p]);
      img.data[4 * p + 1] = byte(values[o + (channels === 3 ? n : 0) + p]);
      img.data[4 * p + 2] = byte(values[o + (channels === 3 ? 2 * n : 0) + p]);
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    into.appendChild(c);
  };
  const show = (values, count, into) => { into.replaceChildren(); for (let i = 0; i < count; i++) draw(values, i, into); };
  const timed = async (work) => { const e0 = model.evaluations, t0 = performance.now(); const r = await work(); return { r, ms: performance.now() - t0, nfe: model.evaluations - e0 }; };

  async function sample(seed, count, planName, label) {
    const plan = planOf(planName);
    if (!plans.generate.includes(planName)) throw new Error(`'${planName}' is not a generation plan`);
    const seeds = Array.from({ length: count }, (_, i) => seed + i);
    return model.run(new Float32Array(count * model.size), plan, seeds, model.labelsFor(count, label));
  }

  // An image file as one sample in [-1, 1]: it must have the model's size (the same rule and message as the .NET package).
  async function readImage(file) {
    if (!file) throw new Error('choose an image first');
    let bitmap;
    try { bitmap = await createImageBitmap(file); } catch { throw new Error(`${file.name}: not an image (PNG or JPEG expected)`); }
    if (bitmap.width !== width || bitmap.height !== height)
      throw new Error(`${file.name}: ${bitmap.width}×${bitmap.height} pixels, but the model takes ${width}×${height}; resize the image first`);
    const c = new OffscreenCanvas(width, height), ctx = c.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data, n = width * height, x = new Float32Array(channels * n);
    for (let p = 0; p < n; p++) {
      const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
      if (channels === 1) x[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b) / 127.5 - 1;
      else { x[p] = r / 127.5 - 1; x[n + p] = g / 127.5 - 1; x[2 * n + p] = b / 127.5 - 1; }
    }
    return x;
  }

  async function invert(image, invertName, seed = 0) {
    const inv = planOf(invertName), gen = planOf(plans.regenerate[invertName]);
    const latents = await model.run(image, inv, [seed], model.labelsFor(1, null));
    const again = await model.run(latents, gen, [seed], model.labelsFor(1, null), false);
    let mse = 0;
    for (let i = 0; i < image.length; i++) mse += ((image[i] - again[i]) / 2) ** 2;
    return { latents, again, mse: mse / image.length };
  }

  async function interpolate(a, b, count, seed = 0) {
    const inv = planOf('invert1'), gen = planOf('onestep');
    const za = await model.run(a, inv, [seed], model.labelsFor(1, null)), zb = await model.run(b, inv, [seed], model.labelsFor(1, null));
    const path = new Float32Array(count * model.size);
    for (let k = 0; k < count; k++) path.set(BcmWeb.slerp(za, zb, k / (count - 1)), k * model.size);
    return model.run(path, gen, Array(count).fill(seed), cfg.num_classes > 0 ? Array(count).fill(0) : null, false);
  }

  const button = (id, work) => $(id).addEventListener('click', async () => {
    clearError();
    $(id).disabled = true;
    try { await work(); } catch (e) { fail(e); } finally { $(id).disabled = false; }
  });
  button('run-generate', async () => {
    const seed = intIn('seed', 0, 2 ** 31 - 1, 'the seed'), count = intIn('count', 1, 64, 'the number of images');
    const label = cfg.num_classes > 0 ? intIn('class', 0, cfg.num_classes - 1, 'the class') : null;
    const { r, ms, nfe } = await timed(() => sample(seed, count, $('plan').value, label));
    show(r, count, $('samples'));
    $('generate-stats').textContent = `${count} image${count === 1 ? '' : 's'}, ${nfe} NFE (batched), ${(ms / count).toFixed(1)} ms per image`;
  });
  button('run-invert', async () => {
    const image = await readImage($('invert-file').files[0]);
    const { r, ms } = await timed(() => invert(image, $('invert-plan').value));
    $('invert-out').replaceChildren();
    draw(image, 0, $('invert-out')); draw(r.latents.map((v) => v / 80), 0, $('invert-out')); draw(r.again, 0, $('invert-out'));
    $('invert-stats').textContent = `original, latent (÷80), regenerated: round-trip MSE ${r.mse.toFixed(4)} (pixels on [0, 1]), ` +
      `${planOf($('invert-plan').value).nfe} + ${planOf(plans.regenerate[$('invert-plan').value]).nfe} NFE, ${ms.toFixed(0)} ms`;
  });
  button('run-interpolate', async () => {
    const a = await readImage($('interp-a').files[0]), b = await readImage($('interp-b').files[0]);
    const count = intIn('interp-count', 2, 32, 'the number of steps');
    const { r, ms } = await timed(() => interpolate(a, b, count));
    show(r, count, $('interp-out'));
    $('interp-stats').textContent = `${count} images, ${ms.toFixed(0)} ms (${(ms / count).toFixed(1)} ms per image)`;
  });
  for (const [drop, input] of [['invert-drop', 'invert-file'], ['interp-a-drop', 'interp-a'], ['interp-b-drop', 'interp-b']]) {
    const d = $(drop);
    d.addEventListener('dragover', (e) => { e.preventDefault(); d.classList.add('over'); });
    d.addEventListener('dragleave', () => d.classList.remove('over'));
    d.addEventListener('drop', (e) => { e.preventDefault(); d.classList.remove('over'); $(input).files = e.dataTransfer.files; });
  }
  for (const id of ['run-generate', 'run-invert', 'run-interpolate']) $(id).disabled = false;

  // For scripts: values as plain arrays; timing of one-step generation in images per second.
  self.bcmPage = {
    config: cfg, threads: model.threads,
    sample: async (seed, count, plan = 'onestep', label = null) => Array.from(await sample(seed, count, plan, label)),
    invert: async (values, plan = 'invert1') => { const r = await invert(Float32Array.from(values), plan); return { latents: Array.from(r.latents), again: Array.from(r.again), mse: r.mse }; },
    imagesPerSecond: async (count = 16, repeats = 3) => {
      await sample(0, count, 'onestep');
      const t0 = performance.now();
      for (let i = 0; i < repeats; i++) await sample(i * count, count, 'onestep');
      return count * repeats / ((performance.now() - t0) / 1000);
    },
  };
  document.body.dataset.ready = 'true';
  $('run-generate').click(); // something to look at from the start: the default seed's one-step samples
})();
