import type { FilterParam } from "./types.js";
/** A filter string literal: double quotes, with `\` and `"` escaped (the escapes the server reads). */
export declare function quote(value: string): string;
/** A date as the API writes it: `2024-01-02 03:04:05.678Z`. */
export declare function formatDate(value: Date): string;
/**
 * Binds `params` into `expr`'s `{:name}` placeholders as filter literals, so a value can never
 * change the expression (PocketBase's `filter()` semantics):
 *
 *     filter("title ~ {:title} && created >= {:since}", { title: 'say "hi"', since: new Date() })
 *
 * Strings are quoted and escaped, numbers/booleans/null written as they are, dates as
 * `"YYYY-MM-DD HH:MM:SS.sssZ"`. Any other type, a non-finite number or a placeholder without a
 * value throws a `ClientError` before anything is sent.
 */
export declare function filter(expr: string, params?: Record<string, FilterParam>): string;
