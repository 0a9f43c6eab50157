// Shared helpers of the agentlog viewer. Everything from a log (and so from the model)
// reaches the page as text nodes: el() never parses HTML.
"use strict";

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

function fmtMs(ms) {
  return ms === null || ms === undefined ? "–" : fmtDuration(ms / 1000);
}

function fmtInt(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

function fmtCost(usd) {
  return usd === null || usd === undefined ? "–" : `$${usd.toFixed(4)}`;
}

function fmtWhen(ts) {
  if (!ts) return "–";
  return ts.slice(0, 19).replace("T", " ");
}

function fmtClock(ts) {
  return ts ? ts.slice(11, 23) : "";
}

function badge(text, kind) {
  return el("span", { className: `badge badge-${kind || text || "none"}`, text: text || "–" });
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

// The page header: brand, breadcrumb and the live indicator.
function liveDot(node, state) {
  node.className = `live live-${state}`;
  node.textContent = { on: "● live", off: "○ not live", done: "● finished" }[state] || state;
}
