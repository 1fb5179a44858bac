// An app using the generated types (tests/typegen/data/schema.yaml): tsc --strict must pass.
import { Client, type ListResult } from "baas-client";
import type { Authors, Collections, Posts, PostsCreate, PostStats, PostsUpdate, Tags } from "./baas_types.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function exact<A, B>(ok: Equal<A, B>): void {
  void ok;
}

export async function listPosts(client: Client<Collections>): Promise<string[]> {
  const page = await client.collection("posts").getList(1, 20, { expand: "author,tags", sort: "-created" });
  exact<typeof page, ListResult<Posts>>(true);
  const out: string[] = [];
  for (const post of page.items) {
    out.push(post.title);
    if (post.status === "draft") continue;
    const author = post.expand?.author;
    if (author) {
      exact<typeof author, Authors>(true);
      out.push(author.bio);
    }
    for (const tag of post.expand?.tags ?? []) {
      exact<typeof tag, Tags>(true);
      out.push(tag.label);
    }
    const flags: Array<"a" | "b" | "c"> = post.flags;
    out.push(`${post.rank} ${post.views} ${flags.join()} ${JSON.stringify(post.meta)} ${post.from}`);
  }
  return out;
}

export async function writePosts(client: Client<Collections>): Promise<Posts> {
  const body: PostsCreate = {
    title: "Hello",
    author: "a".repeat(15),
    accepted: true,
    kind: "news",
    cover: new Blob(["png"]),
    gallery: [new Blob(["a"]), new Blob(["b"])],
  };
  const created = await client.collection("posts").create(body);
  const change: PostsUpdate = { "views+": 1, "tags-": "t".repeat(15), "gallery+": new Blob(["c"]), status: "" };
  return client.collection("posts").update(created.id, change);
}

export async function readAView(client: Client<Collections>): Promise<PostStats[]> {
  const stats = await client.collection("post_stats").getFullList({ sort: "-views" });
  exact<typeof stats, PostStats[]>(true);
  return stats;
}

export function main(): Client<Collections> {
  return new Client<Collections>("http://127.0.0.1:8090");
}
