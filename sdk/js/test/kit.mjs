// Shared set-up of the SDK's node tests: the server under test comes from the environment
// (tests/sdk_js starts it): BAAS_URL, BAAS_SU_EMAIL, BAAS_SU_PASSWORD, BAAS_KIND ("baas" or
// "pocketbase"), BAAS_DATA_DIR (baas: its data dir, for the dev mailbox).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

import { Client } from "../dist/index.js";

export const URL_ = process.env.BAAS_URL ?? "";
export const KIND = process.env.BAAS_KIND ?? "baas";
export const IS_BAAS = KIND === "baas";
export const SU_EMAIL = process.env.BAAS_SU_EMAIL ?? "";
export const SU_PASSWORD = process.env.BAAS_SU_PASSWORD ?? "";
export const DATA_DIR = process.env.BAAS_DATA_DIR ?? "";

let counter = 0;
/** A name no other test of this run uses. */
export function unique(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

/** A superuser client (a new one each call). */
export async function superuser() {
  const su = new Client(URL_);
  await su.collection("_superusers").authWithPassword(SU_EMAIL, SU_PASSWORD);
  return su;
}

/** Creates a base collection open to everyone (rules ""), or as `extra` says; returns it. */
export async function makeCollection(su, name, fields, extra = {}) {
  return su.send("/api/collections", {
    method: "POST",
    body: {
      name,
      type: "base",
      listRule: "",
      viewRule: "",
      createRule: "",
      updateRule: "",
      deleteRule: "",
      fields,
      ...extra,
    },
  });
}

/** Signs up a user of `users` and returns a client signed in as them. */
export async function newUser(email = `${unique("u")}@example.com`, password = "user-password-1") {
  const c = new Client(URL_);
  const rec = await c.collection("users").create({ email, password, passwordConfirm: password, name: "N" });
  await c.collection("users").authWithPassword(email, password);
  return { client: c, record: rec, email, password };
}

/** Waits until `check()` is truthy (polling; bounded so a broken server fails instead of hanging). */
export async function eventually(check, what, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The next message the dev mailbox (baas) holds for `to` whose kind is `kind`, after `seen` of them. */
export async function mail(to, kind, seen = 0) {
  return eventually(() => {
    const dir = join(DATA_DIR, "mailbox");
    let names = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
    } catch {
      return null;
    }
    const msgs = names
      .map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")))
      .filter((m) => JSON.stringify(m.to).includes(to) && (!kind || m.kind === kind));
    return msgs.length > seen ? msgs[msgs.length - 1] : null;
  }, `a ${kind} mail to ${to}`);
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, for step `t` (default now). */
export async function totp(secret, step = Math.floor(Date.now() / 30_000)) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, BigInt(step));
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, msg));
  const off = mac[19] & 0xf;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A real w×h RGB PNG (so the server can make thumbnails of it). */
export function png(w = 40, h = 30, rgb = [200, 10, 10]) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(rgb, y * (w * 3 + 1) + 1 + x * 3);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The width and height of PNG bytes. */
export function pngSize(bytes) {
  const b = Buffer.from(bytes);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}
