// Type-level checks of the package's .d.ts (compiled with `tsc --strict --noEmit` by tests/sdk_js).
import { Client, ClientError, type ListResult, type RecordModel } from "baas-client";

interface Posts {
  id: string;
  collectionId: string;
  collectionName: "posts";
  title: string;
  views: number;
}
interface PostsCreate {
  title: string;
  views?: number;
}
interface PostsUpdate {
  title?: string;
  views?: number;
  "views+"?: number;
}
type Collections = {
  posts: { record: Posts; create: PostsCreate; update: PostsUpdate };
};

export async function typed(url: string): Promise<string> {
  const client = new Client<Collections>(url);
  const posts = client.collection("posts");
  const created: Posts = await posts.create({ title: "hi" });
  const page: ListResult<Posts> = await posts.getList(1, 10, { filter: client.filter("views > {:n}", { n: 1 }) });
  await posts.update(created.id, { "views+": 1 });
  // @ts-expect-error: not a collection of the schema
  client.collection("nope");
  // @ts-expect-error: title is required on create
  await posts.create({ views: 1 });
  // @ts-expect-error: unknown field on update
  await posts.update(created.id, { nope: 1 });
  const untyped = new Client(url);
  const any: RecordModel = await untyped.collection("whatever").getOne("x");
  try {
    await posts.getOne("x");
  } catch (err) {
    if (err instanceof ClientError) return `${err.status} ${Object.keys(err.data).join(",")}`;
  }
  return page.items[0]?.title ?? any.id;
}
