// StampLib page behaviour: a crop box drawn on the photo, the overlay slider and zoom.
// No inline scripts anywhere, so a strict Content-Security-Policy can forbid them.
"use strict";

function setUpCrop() {
  const input = document.getElementById("photo");
  const area = document.getElementById("crop-area");
  const canvas = document.getElementById("crop-canvas");
  const field = document.getElementById("crop");
  if (!input || !canvas || !field) return;
  const context = canvas.getContext("2d");
  let image = null, scale = 1, start = null, box = null, found = null;

  function draw() {
    if (!image) return;
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    if (box) {
      context.strokeStyle = "#f0a500";
      context.lineWidth = 3;
      context.strokeRect(box.x, box.y, box.w, box.h);
    }
    if (found) {  // where the first result's specimen lies on the photo
      context.strokeStyle = "#00a050";
      context.lineWidth = 3;
      context.beginPath();
      found.forEach(([x, y], i) => (i ? context.lineTo(x * scale, y * scale) : context.moveTo(x * scale, y * scale)));
      context.closePath();
      context.stroke();
    }
  }
  // a search's results name the stamp they are about: outline it on the preview
  document.body.addEventListener("htmx:afterSwap", () => {
    const element = document.getElementById("found-outline");
    found = element ? element.dataset.outline.split(";").map((p) => p.split(",").map(Number)) : null;
    draw();
  });
  function point(event) {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left) * (canvas.width / rect.width);
    const y = (event.clientY - rect.top) * (canvas.height / rect.height);
    return { x: Math.max(0, Math.min(canvas.width, x)), y: Math.max(0, Math.min(canvas.height, y)) };
  }
  input.addEventListener("change", () => {
    field.value = ""; box = null; found = null;
    const file = input.files && input.files[0];
    if (!file) { area.hidden = true; return; }
    const url = URL.createObjectURL(file);
    image = new Image();
    image.onload = () => {
      scale = Math.min(1, 900 / Math.max(image.naturalWidth, image.naturalHeight));
      canvas.width = Math.round(image.naturalWidth * scale);
      canvas.height = Math.round(image.naturalHeight * scale);
      area.hidden = false;
      draw();
    };
    image.src = url;
  });
  canvas.addEventListener("pointerdown", (event) => { start = point(event); canvas.setPointerCapture(event.pointerId); });
  canvas.addEventListener("pointermove", (event) => {
    if (!start) return;
    const p = point(event);
    box = { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y), w: Math.abs(p.x - start.x), h: Math.abs(p.y - start.y) };
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    start = null;
    if (box && box.w > 8 && box.h > 8) {
      field.value = [box.x, box.y, box.w, box.h].map((v) => Math.round(v / scale)).join(",");
    } else { box = null; field.value = ""; draw(); }
  });
  document.getElementById("crop-clear").addEventListener("click", () => { box = null; field.value = ""; draw(); });
  // "Check impression N" under the results searches another impression found on the photo;
  // "Search the whole photo" (an empty crop) goes back to the photo as a whole
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".search-impression");
    if (!button) return;
    if (button.dataset.crop) {
      const [x, y, w, h] = button.dataset.crop.split(",").map(Number);
      box = { x: x * scale, y: y * scale, w: w * scale, h: h * scale };
    } else { box = null; }
    field.value = button.dataset.crop;
    draw();
    document.getElementById("search-form").requestSubmit();
  });
}

function setUpViewer() {
  const slider = document.getElementById("opacity");
  if (slider) {
    const top = document.getElementById(slider.dataset.target);
    slider.addEventListener("input", () => { top.style.opacity = String(slider.value / 100); });
  }
  const toggle = document.getElementById("show-heatmap");
  if (toggle) {
    const layer = document.getElementById(toggle.dataset.heatmap);
    toggle.addEventListener("change", () => { layer.hidden = !toggle.checked; });
  }
  document.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const box = document.getElementById(button.dataset.zoomTarget);
      const zoom = parseFloat(getComputedStyle(box).getPropertyValue("--zoom") || "1") || 1;
      const next = Math.max(1, Math.min(6, zoom * parseFloat(button.dataset.zoom)));
      box.style.setProperty("--zoom", String(next));
    });
  });
}

document.addEventListener("DOMContentLoaded", () => { setUpCrop(); setUpViewer(); });
