// Realtime across a server restart (tests/sdk_js/test_realtime_restart.py drives it): subscribe,
// print READY, wait for RESTARTED on stdin, then — with no reconnect code here — receive the next event.
import assert from "node:assert/strict";
import { createInterface } from "node:readline";

import { Client } from "../dist/index.js";
import { URL_, eventually, makeCollection, superuser, unique } from "./kit.mjs";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const su = await superuser();
const name = unique("live");
await makeCollection(su, name, [{ name: "title", type: "text" }]);

const client = new Client(URL_, { reconnectDelays: [100, 200, 500] });
const events = [];
await client.collection(name).subscribe("*", (e) => events.push(e));
const connects = [];
client.realtime.onConnect((id) => connects.push(id)); // only observed, to know when to write
const firstId = client.realtime.clientId;
await su.collection(name).create({ title: "before" });
await eventually(() => events.length === 1, "the event before the restart");
console.log("READY");

assert.equal((await lines.next()).value, "RESTARTED");
await eventually(() => connects.length >= 1 && client.realtime.isConnected, "the SDK to reconnect by itself", 60_000);
assert.notEqual(client.realtime.clientId, firstId, "a new connection");
const writer = await superuser(); // the server restarted: sign in again to write
await writer.collection(name).create({ title: "after" });
await eventually(() => events.length === 2, "the event after the restart");
assert.deepEqual(events.map((e) => e.record.title), ["before", "after"]);
await client.realtime.disconnect();
console.log("OK");
process.exit(0);
