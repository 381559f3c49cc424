// Upload button: the browser checks a file's size before reading it, so that a file over the
// limit never crosses the websocket (a Jupyter server closes the connection on a message over its
// limit, and the page would stop answering). A file within the limit goes to Python as one
// custom message with the bytes as a binary buffer.

function size(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

function render({ model, el }) {
  el.classList.add("speechlab-upload");
  const input = document.createElement("input");
  input.type = "file";
  input.style.display = "none";
  const button = document.createElement("button");
  button.className = "jupyter-button widget-button speechlab-upload-button";
  el.append(input, button);

  let sending = null; // the file on its way to Python, until Python says it arrived

  const show = () => {
    input.accept = model.get("accept");
    button.disabled = model.get("disabled") || sending !== null;
    button.textContent =
      sending === null
        ? `⇪ ${model.get("description")}`
        : `Sending ${sending.name} (${size(sending.size)})…`;
    button.title = `at most ${size(model.get("max_bytes"))}`;
  };

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = ""; // the same file can be chosen again
    if (!file) return;
    if (file.size > model.get("max_bytes")) {
      model.send({ type: "too_large", name: file.name, size: file.size });
      return;
    }
    sending = { name: file.name, size: file.size };
    show();
    try {
      const content = await file.arrayBuffer();
      model.send({ type: "file", name: file.name, size: file.size }, undefined, [content]);
    } catch (err) {
      sending = null;
      show();
      model.send({ type: "unreadable", name: file.name, size: file.size, error: String(err) });
    }
  });
  model.on("msg:custom", (message) => {
    if (message && message.type === "received") {
      sending = null;
      show();
    }
  });
  model.on("change:disabled", show);
  model.on("change:description", show);
  model.on("change:accept", show);
  model.on("change:max_bytes", show);
  show();
}

export default { render };
