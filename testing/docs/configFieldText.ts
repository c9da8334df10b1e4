/**
 * How one field of the config's description (config/schema.ts) reads to a person: its default
 * and its unit, the same words in docs/configuration.md's table and in config/types.ts' TSDoc.
 */
import { Field } from "../../config/field";

/** A constant default as the docs write it: `"mymaster"`, `3`, `{}`, `{ "tile38-ha/client": "true" }`. */
export function valueText(value: unknown): string {
    if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.map(valueText).join(", ")}]`;
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value);
        return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${valueText(v)}`).join(", ")} }`;
    }
    return JSON.stringify(value);
}

/** The field's default in words: its own text, its constant value, or "unset". */
export function defaultText(field: Field): string {
    if (field.defaultText !== undefined) return field.defaultText;
    if (typeof field.default === "function") throw new Error("a computed default needs a defaultText that says how it is computed");
    return field.default === undefined ? "unset" : valueText(field.default);
}

/** The field's unit, or "" for a unitless one. */
export function unitText(field: Field): string {
    return field.unit ?? "";
}
