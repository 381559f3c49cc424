// Microphone recorder: records mono PCM in the browser and sends it to Python as a WAV file.
//
// Why PCM and not MediaRecorder's own output: Chromium's MediaRecorder writes WebM/Opus and Safari
// writes MP4/AAC, and libsndfile (what lab.Audio.load uses) reads neither. So samples are taken
// from an AudioWorklet (ScriptProcessor where worklets are missing) and encoded as 16-bit WAV here.

const WORKLET_SOURCE = `
class SpeechlabCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      // copy: the engine reuses the input buffers
      this.port.postMessage(input[0].slice(0));
    }
    return true;
  }
}
registerProcessor("speechlab-capture", SpeechlabCapture);
`;

function encodeWav(chunks, sampleRate) {
  let length = 0;
  for (const c of chunks) length += c.length;
  const buffer = new ArrayBuffer(44 + 2 * length);
  const view = new DataView(buffer);
  const text = (offset, s) => {
    for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i));
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + 2 * length, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, 2 * length, true);
  let offset = 44;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const s = Math.max(-1, Math.min(1, c[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
      offset += 2;
    }
  }
  return view;
}

function describeError(err) {
  const name = err && err.name ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "The browser refused the microphone: allow it for this page (it needs https or localhost).";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "No microphone was found: plug one in, or upload a file instead.";
  }
  if (name === "NotReadableError") {
    return "The microphone is busy in another application: close it there and try again.";
  }
  return `Recording failed: ${err && err.message ? err.message : String(err)}.`;
}

async function startCapture(onSamples) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error("no microphone access"), { name: "SecurityError" });
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  const ctx = new AudioCtx();
  const source = ctx.createMediaStreamSource(stream);
  let node = null;
  if (ctx.audioWorklet) {
    const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: "application/javascript" }));
    try {
      await ctx.audioWorklet.addModule(url);
      node = new AudioWorkletNode(ctx, "speechlab-capture");
      node.port.onmessage = (event) => onSamples(event.data);
    } catch (_err) {
      node = null; // a content security policy may forbid blob: modules; fall back below
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  if (node === null) {
    node = ctx.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (event) => onSamples(event.inputBuffer.getChannelData(0).slice(0));
  }
  // A zero-gain sink keeps the graph pulling samples without playing the microphone back.
  const mute = ctx.createGain();
  mute.gain.value = 0;
  source.connect(node);
  node.connect(mute);
  mute.connect(ctx.destination);
  const stop = async () => {
    source.disconnect();
    node.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    await ctx.close();
  };
  return { sampleRate: ctx.sampleRate, stop };
}

function render({ model, el }) {
  el.classList.add("speechlab-recorder");
  const button = document.createElement("button");
  button.className = "jupyter-button widget-button speechlab-record-button";
  const clock = document.createElement("span");
  clock.className = "speechlab-record-clock";
  clock.style.margin = "0 0.6em";
  clock.style.fontVariantNumeric = "tabular-nums";
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = 1;
  meter.value = 0;
  meter.style.width = "6em";
  const message = document.createElement("span");
  message.className = "speechlab-record-message";
  message.setAttribute("role", "status");
  el.append(button, clock, meter, message);

  let capture = null;
  let chunks = [];
  let samples = 0;
  let timer = null;

  const show = () => {
    const state = model.get("state");
    button.textContent = state === "recording" ? "■ Stop" : "● Record";
    button.disabled = model.get("disabled") || state === "encoding";
    message.textContent = model.get("error");
  };

  const finish = async () => {
    if (capture === null) return;
    const current = capture;
    capture = null;
    clearInterval(timer);
    model.set("state", "encoding");
    model.save_changes();
    await current.stop();
    if (samples === 0) {
      model.set({ state: "idle", error: "Nothing was recorded: check the microphone and try again." });
    } else {
      const wav = encodeWav(chunks, current.sampleRate);
      model.set({ recording: wav, state: "idle", error: "" });
    }
    chunks = [];
    samples = 0;
    meter.value = 0;
    model.save_changes();
  };

  const start = async () => {
    chunks = [];
    samples = 0;
    try {
      let limit = 0;
      capture = await startCapture((block) => {
        if (capture === null) return;
        chunks.push(block);
        samples += block.length;
        let peak = 0;
        for (let i = 0; i < block.length; i++) peak = Math.max(peak, Math.abs(block[i]));
        meter.value = peak;
        if (samples >= limit) finish();
      });
      limit = model.get("max_seconds") * capture.sampleRate;
      model.set({ state: "recording", error: "" });
      model.save_changes();
      const started = performance.now();
      timer = setInterval(() => {
        clock.textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
      }, 100);
    } catch (err) {
      capture = null;
      model.set({ state: "idle", error: describeError(err) });
      model.save_changes();
    }
  };

  button.addEventListener("click", () => {
    if (model.get("state") === "recording") finish();
    else if (model.get("state") === "idle") start();
  });
  model.on("change:state", show);
  model.on("change:error", show);
  model.on("change:disabled", show);
  clock.textContent = "0.0 s";
  show();
  return () => {
    clearInterval(timer);
    if (capture !== null) capture.stop();
  };
}

export default { render };
