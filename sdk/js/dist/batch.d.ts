import type { Client } from "./client.js";
import type { FileMap, RecordModel, SchemaMap, SendOptions } from "./types.js";
/** One answer of a batch, in the order the requests were queued. */
export interface BatchResult<R = RecordModel> {
    status: number;
    body: R | Record<string, unknown> | null;
}
interface Queued {
    method: string;
    url: string;
    body?: Record<string, unknown>;
    files?: FileMap;
}
/** Queues writes of one collection in a `Batch`. */
export declare class BatchCollection {
    #private;
    constructor(queue: Queued[], name: string);
    create(body: Record<string, unknown>, opts?: {
        files?: FileMap;
    }): this;
    /** Creates, or updates when `body.id` exists. */
    upsert(body: Record<string, unknown> & {
        id: string;
    }, opts?: {
        files?: FileMap;
    }): this;
    update(id: string, body: Record<string, unknown>, opts?: {
        files?: FileMap;
    }): this;
    delete(id: string): this;
}
/**
 * Several writes in one transaction (`POST /api/batch`): all happen, or none.
 *
 *     const batch = client.batch();
 *     batch.collection("posts").create({ title: "a" }).create({ title: "b" });
 *     const results = await batch.send();
 */
export declare class Batch {
    #private;
    constructor(client: Client<SchemaMap>);
    collection(name: string): BatchCollection;
    /** Sends the queued requests; a refused one fails the whole batch (a `ClientError` naming it in `data`). */
    send<R = RecordModel>(opts?: SendOptions): Promise<BatchResult<R>[]>;
}
export {};
