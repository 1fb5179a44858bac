import { invalid } from "./errors.js";
const PLACEHOLDER = /\{:([A-Za-z0-9_]+)\}/g;
/** A filter string literal: double quotes, with `\` and `"` escaped (the escapes the server reads). */
export function quote(value) {
    return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}
/** A date as the API writes it: `2024-01-02 03:04:05.678Z`. */
export function formatDate(value) {
    if (Number.isNaN(value.getTime()))
        throw invalid("Filter parameter is an invalid Date.");
    return value.toISOString().replace("T", " ");
}
function literal(name, value) {
    if (value === null)
        return "null";
    switch (typeof value) {
        case "string":
            return quote(value);
        case "boolean":
            return String(value);
        case "number":
            if (!Number.isFinite(value))
                throw invalid(`Filter parameter {:${name}} must be a finite number, got ${value}.`, name);
            return String(value);
        case "object":
            if (value instanceof Date)
                return quote(formatDate(value));
            break;
        default:
            break;
    }
    const kind = typeof value === "object" ? (Array.isArray(value) ? "array" : "object") : typeof value;
    throw invalid(`Filter parameter {:${name}} has an unsupported type (${kind}); use a string, number, boolean, null or Date.`, name);
}
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
export function filter(expr, params = {}) {
    if (typeof expr !== "string")
        throw invalid("The filter expression must be a string.");
    for (const [name, value] of Object.entries(params)) {
        if (!/^[A-Za-z0-9_]+$/.test(name))
            throw invalid(`Filter parameter name ${JSON.stringify(name)} must be letters, digits or _.`);
        literal(name, value); // refuse a bad value even when the expression does not use it
    }
    return expr.replace(PLACEHOLDER, (_match, name) => {
        if (!Object.prototype.hasOwnProperty.call(params, name))
            throw invalid(`Filter placeholder {:${name}} has no value.`, name);
        return literal(name, params[name]);
    });
}
