// bcm in the browser: a BCM's ONNX export run by ONNX Runtime Web (WebAssembly), with the library's plan steps,
// scalings and per-sample noise, so that a seed gives the image bcm sample gives. The plans themselves come resolved
// from bcm export (plans.json): their text form, presets and validation live in one place, the C# library.
'use strict';

const f32 = Math.fround;

// ---- Seeds: SplitMix64 counters (SeedStreams.Mix) and libtorch's CPU normal generator (TorchCpuNormal) ----
const M64 = (1n << 64n) - 1n;
const PURPOSE_SAMPLE = 6n;

function mix(seed, counters) {
  let z = BigInt.asUintN(64, BigInt(seed));
  for (const c of counters) {
    z = (z + 0x9E3779B97F4A7C15n + BigInt.asUintN(64, BigInt(c))) & M64;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
    z ^= z >> 31n;
  }
  return z;
}

// The 32 bits of a sample's generator seed that libtorch's mt19937 takes.
function generatorSeed32(seed, step) {
  return Number(mix(seed, [PURPOSE_SAMPLE, BigInt(step)]) & 0x7FFFFFFFFFFFFFFFn & 0xFFFFFFFFn);
}

class MersenneTwister {
  constructor(seed) {
    this.mt = new Uint32Array(624);
    this.index = 624;
    this.mt[0] = seed >>> 0;
    for (let j = 1; j < 624; j++) {
      const s = this.mt[j - 1] ^ (this.mt[j - 1] >>> 30);
      this.mt[j] = (Math.imul(1812433253, s) + j) >>> 0;
    }
  }
  next() {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9D2C5680;
    y ^= (y << 15) & 0xEFC60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
  twist() {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ ((y & 1) ? 0x9908B0DF : 0);
    }
    this.index = 0;
  }
}

const TWO_PI_F = f32(2 * Math.PI);

// torch.randn(n) on the CPU from a generator seeded with `seed32` (float32): see TorchCpuNormal in the library.
function torchNormal(seed32, n) {
  const mt = new MersenneTwister(seed32);
  const out = new Float32Array(n);
  const block = (o) => {
    for (let j = 0; j < 8; j++) {
      const u1 = f32(1 - out[o + j]), theta = f32(TWO_PI_F * out[o + j + 8]);
      const radius = Math.sqrt(-2 * Math.log(u1));
      out[o + j] = radius * Math.cos(theta);
      out[o + j + 8] = radius * Math.sin(theta);
    }
  };
  if (n >= 16) {
    for (let i = 0; i < n; i++) out[i] = (mt.next() & 0xFFFFFF) / 16777216;
    for (let i = 0; i + 16 <= n; i += 16) block(i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = (mt.next() & 0xFFFFFF) / 16777216;
      block(n - 16);
    }
    return out;
  }
  const u53 = () => { const hi = mt.next(), lo = mt.next(); return ((hi & 0x1FFFFF) * 4294967296 + lo) / 9007199254740992; };
  let cached = null;
  for (let i = 0; i < n; i++) {
    if (cached !== null) { out[i] = cached; cached = null; continue; }
    const u1 = u53(), u2 = u53();
    const r = Math.sqrt(-2 * Math.log(1 - u2)), theta = 2 * Math.PI * u1;
    cached = r * Math.sin(theta);
    out[i] = r * Math.cos(theta);
  }
  return out;
}

// ---- The model: F in ONNX Runtime Web, f(x, t, u) = c_skip·x + c_out·F(c_in·x, c_noise(t), c_noise(u), y) in float32 ----
class BcmModel {
  constructor(session, config) {
    this.session = session;
    this.config = config;
    this.shape = config.sample_shape;
    this.size = this.shape.reduce((a, b) => a * b, 1);
    this.evaluations = 0;
  }

  static async open(base = '.') {
    const config = await (await fetch(`${base}/config.json`)).json();
    for (const key of ['sample_shape', 'model_kind', 'num_classes', 'scalings', 'weights_file'])
      if (!(key in config)) throw new Error(`config.json: '${key}' is missing; re-export the model with bcm export --format web`);
    const threaded = self.crossOriginIsolated === true;
    ort.env.wasm.wasmPaths = new URL(`${base}/ort/`, location.href).href; // absolute: a relative path is taken from the script's folder
    ort.env.wasm.numThreads = threaded ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const session = await ort.InferenceSession.create(`${base}/${config.weights_file}`, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const expected = ['x_in', 'c_noise_t', 'c_noise_u'].concat(config.num_classes > 0 ? ['y'] : []);
    if ([...session.inputNames].sort().join() !== expected.sort().join())
      throw new Error(`${config.weights_file}: the graph's inputs are (${session.inputNames.join(', ')}), not a BCM export's (${expected.join(', ')})`);
    const model = new BcmModel(session, config);
    model.threads = ort.env.wasm.numThreads;
    return model;
  }

  // One jump of a batch of `count` samples from noise level `from` to `to`.
  async jump(x, count, from, to, labels) {
    const s = this.config.scalings;
    const t = f32(from), u = f32(to), sd = f32(s.sigma_data), sd2 = f32(sd * sd);
    const norm = f32(f32(t * t) + sd2);
    const cIn = f32(1 / f32(Math.sqrt(norm)));
    const cSkip = f32(f32(f32(t * u) + sd2) / norm);
    const cOut = f32(f32(f32(t - u) * sd) / f32(Math.sqrt(norm)));
    const cNoise = (v) => f32(f32(Math.log(v)) * 250);
    const xIn = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) xIn[k] = x[k] * cIn;
    const feeds = {
      x_in: new ort.Tensor('float32', xIn, [count, ...this.shape]),
      c_noise_t: new ort.Tensor('float32', new Float32Array(count).fill(cNoise(t)), [count]),
      c_noise_u: new ort.Tensor('float32', new Float32Array(count).fill(cNoise(u)), [count]),
    };
    if (this.config.num_classes > 0) feeds.y = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [count]);
    const raw = (await this.session.run(feeds)).F.data;
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = f32(cSkip * x[k]) + f32(cOut * raw[k]);
    this.evaluations++;
    return out;
  }

  addNoise(x, seeds, step, scale) {
    const k = f32(scale);
    seeds.forEach((seed, s) => {
      const z = torchNormal(generatorSeed32(seed, step), this.size);
      for (let i = 0; i < this.size; i++) x[s * this.size + i] = x[s * this.size + i] + f32(z[i] * k);
    });
  }

  // Runs a plan (its JSON form from plans.json) on x, as the library's PlanRunner.Run: start noise, then each step.
  async run(x, plan, seeds, labels, startsWithNoise = true) {
    const count = seeds.length, eps = this.config.scalings.sigma_min;
    x = Float32Array.from(x);
    if (startsWithNoise) this.addNoise(x, seeds, 0, plan.start);
    const atEps = (v) => v <= eps * (1 + 1e-9);
    const slope = async (y, sigma) => {
      const d = await this.jump(y, count, sigma, eps, labels), s = f32(sigma);
      for (let k = 0; k < y.length; k++) d[k] = f32(y[k] - d[k]) / s;
      return d;
    };
    const axpy = (y, d, h) => { const r = new Float32Array(y.length), hh = f32(h); for (let k = 0; k < y.length; k++) r[k] = y[k] + f32(d[k] * hh); return r; };
    let previous = null, previousSigma = 0;
    for (let i = 0; i < plan.steps.length; i++) {
      const step = plan.steps[i];
      const dpm = step.op === 'ode' && step.method === 'DpmSolver2M';
      if (!dpm) previous = null;
      if (step.op === 'jump') x = await this.jump(x, count, step.from, step.to, labels);
      else if (step.op === 'noise') {
        const sigma = step.reachSigma ? Math.sqrt(Math.max(0, step.sigma * step.sigma - eps * eps)) : step.sigma;
        this.addNoise(x, seeds, i + 1, sigma);
      } else if (dpm) {
        const fromEps = atEps(step.from);
        const d = await this.jump(x, count, fromEps ? step.to : step.from, eps, labels);
        const next = new Float32Array(x.length);
        if (fromEps) {
          const c = f32((step.to - step.from) / step.to);
          for (let k = 0; k < x.length; k++) next[k] = x[k] + f32(f32(x[k] - d[k]) * c);
          previous = null;
        } else {
          let prediction = d;
          if (previous) {
            const h = Math.log(step.from / step.to), r = Math.log(previousSigma / step.from) / h;
            const a = f32(1 + 1 / (2 * r)), b = f32(1 / (2 * r));
            prediction = new Float32Array(x.length);
            for (let k = 0; k < x.length; k++) prediction[k] = f32(d[k] * a) - f32(previous[k] * b);
          }
          const ratio = f32(step.to / step.from), rest = f32(1 - step.to / step.from);
          for (let k = 0; k < x.length; k++) next[k] = f32(x[k] * ratio) + f32(prediction[k] * rest);
          previous = d;
          previousSigma = step.from;
        }
        x = next;
      } else if (step.op === 'ode') {
        const h = step.to - step.from;
        if (atEps(step.from)) { x = axpy(x, await slope(x, step.to), h); continue; }
        const d = await slope(x, step.from), euler = axpy(x, d, h);
        if (step.method === 'Euler' || atEps(step.to)) { x = euler; continue; }
        const d2 = await slope(euler, step.to), half = f32(h * 0.5), r = new Float32Array(x.length);
        for (let k = 0; k < x.length; k++) r[k] = x[k] + f32(f32(d[k] + d2[k]) * half);
        x = r;
      } else throw new Error(`unknown plan step '${step.op}'`);
    }
    return x;
  }

  labelsFor(count, label, first = 0) {
    const n = this.config.num_classes;
    if (n === 0) return null;
    return Array.from({ length: count }, (_, i) => (label ?? ((first + i) % n)));
  }
}

// Slerp of two latents at α, as the library's interpolation (the straight line where they are nearly parallel).
function slerp(a, b, alpha) {
  if (alpha === 0) return Float32Array.from(a);
  if (alpha === 1) return Float32Array.from(b);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  const theta = Math.acos(Math.min(1, Math.max(-1, dot / (Math.sqrt(na) * Math.sqrt(nb))))), sin = Math.sin(theta);
  const straight = Math.abs(sin) < 1e-6;
  const wa = f32(straight ? 1 - alpha : Math.sin(theta * (1 - alpha)) / sin), wb = f32(straight ? alpha : Math.sin(theta * alpha) / sin);
  const r = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = f32(wa * a[i]) + f32(wb * b[i]);
  return r;
}

self.BcmWeb = { BcmModel, torchNormal, generatorSeed32, slerp };
