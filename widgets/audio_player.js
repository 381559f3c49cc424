// Plays the WAV bytes of the model's `value`; reports the position back as `current_time`
// (at most every `throttle_ms` while playing, and once on every pause or seek); obeys
// play_range / seek / play / pause messages from Python.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "speechlab-audio-player";
  root.style.display = "flex";
  root.style.alignItems = "center";
  root.style.gap = "0.5em";
  const label = document.createElement("span");
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "auto";
  root.append(label, audio);
  el.append(root);

  let url = null;
  let stopAt = null;
  let lastReport = -Infinity;
  let frame = null;

  function showLabel() {
    label.textContent = model.get("label");
    label.style.display = model.get("label") ? "" : "none";
  }

  function load() {
    const data = model.get("value");
    if (url) URL.revokeObjectURL(url);
    url = null;
    stopAt = null;
    if (!data || data.byteLength === 0) {
      audio.removeAttribute("src");
      audio.load();
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    url = URL.createObjectURL(new Blob([bytes], { type: model.get("mime_type") || "audio/wav" }));
    audio.src = url;
  }

  function report(force) {
    const now = performance.now();
    if (!force && now - lastReport < model.get("throttle_ms")) return;
    lastReport = now;
    model.set("current_time", audio.currentTime);
    model.save_changes();
  }

  function tick() {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      audio.pause();
      stopAt = null;
    }
    report(false);
    frame = audio.paused ? null : requestAnimationFrame(tick);
  }

  function whenReady(action) {
    if (audio.readyState >= 1) action();
    else audio.addEventListener("loadedmetadata", action, { once: true });
  }

  audio.addEventListener("play", () => {
    model.set("playing", true);
    model.save_changes();
    if (frame === null) frame = requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", () => {
    model.set("playing", false);
    report(true);
  });
  audio.addEventListener("ended", () => {
    stopAt = null;
    model.set("playing", false);
    report(true);
  });
  audio.addEventListener("seeked", () => report(true));

  function onMessage(msg) {
    if (msg.type === "play_range") {
      whenReady(() => {
        audio.currentTime = msg.start_s;
        stopAt = msg.end_s === null || msg.end_s === undefined ? null : msg.end_s;
        audio.play().catch(() => {});
      });
    } else if (msg.type === "seek") {
      whenReady(() => {
        stopAt = null;
        audio.currentTime = msg.time_s;
      });
    } else if (msg.type === "play") {
      audio.play().catch(() => {});
    } else if (msg.type === "pause") {
      audio.pause();
    }
  }

  model.on("change:value", load);
  model.on("change:label", showLabel);
  model.on("msg:custom", onMessage);
  showLabel();
  load();

  return () => {
    if (frame !== null) cancelAnimationFrame(frame);
    audio.pause();
    if (url) URL.revokeObjectURL(url);
    model.off("change:value", load);
    model.off("change:label", showLabel);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
