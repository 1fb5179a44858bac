// Mistakes the generated types must catch: each line marked `// expect: TSnnnn` must get that tsc
// error, and no other line any (test_typecheck.py).
import type { Client } from "baas-client";
import type { Collections, Posts } from "./baas_types.js";

export function unknownCollection(client: Client<Collections>): void {
  client.collection("postz"); // expect: TS2345
}

export function unknownFieldRead(post: Posts): unknown {
  return post.titel; // expect: TS2551
}

export async function unknownFieldWritten(client: Client<Collections>): Promise<void> {
  await client.collection("tags").create({ labl: "x" }); // expect: TS2353
}

export async function missingRequiredKey(client: Client<Collections>): Promise<void> {
  await client.collection("tags").create({}); // expect: TS2345
}

export async function wrongTypeWritten(client: Client<Collections>): Promise<void> {
  await client.collection("tags").create({ label: 5 }); // expect: TS2322
}

export function wrongTypeRead(post: Posts): number {
  const views: number = post.title; // expect: TS2322
  return views;
}

export async function selectValueNotInTheSchema(client: Client<Collections>): Promise<void> {
  await client.collection("posts").update("x", { status: "archived" }); // expect: TS2322
}

export async function writeToAView(client: Client<Collections>): Promise<void> {
  await client.collection("post_stats").create({ title: "x" }); // expect: TS2353
}

export function unknownExpand(post: Posts): unknown {
  return post.expand?.editor; // expect: TS2339
}
